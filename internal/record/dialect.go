package record

import "github.com/policyaudit/policyaudit/internal/jsonbody"

// Dialect is what one of the policygateway receiver's endpoints takes: the
// shape of each input object and how many records it gives.
type Dialect uint8

const (
	DialectDecisions Dialect = iota // a decision, any gateway dialect
	DialectAudit                    // an admin audit event
	DialectOPA                      // an OPA decision-log event
	DialectLiteLLM                  // a LiteLLM logging or audit payload
	DialectKong                     // a Kong log serializer object
)

// dialectNames name the dialects as the command line and docs do.
var dialectNames = map[string]Dialect{
	"decisions": DialectDecisions, "audit": DialectAudit, "opa": DialectOPA, "litellm": DialectLiteLLM, "kong": DialectKong,
}

// ParseDialect reads a dialect's name: decisions, audit, opa, litellm or kong.
func ParseDialect(name string) (Dialect, bool) {
	d, ok := dialectNames[name]
	return d, ok
}

// NormalizeDialect appends to dst the canonical records of one input object
// of a dialect (a LiteLLM call gives one per guardrail, maybe none), so a
// caller that reuses dst allocates no list per record.
func NormalizeDialect(dst []*Record, d Dialect, obj jsonbody.Value) ([]*Record, error) {
	var rec *Record
	var err error
	switch d {
	case DialectLiteLLM, DialectKong:
		// Gateway payloads are reshaped as maps into the flat dialect first.
		m, _ := obj.Interface().(map[string]any)
		var recs []*Record
		if d == DialectLiteLLM {
			recs, err = NormalizeLiteLLM(m)
		} else {
			recs, err = NormalizeKong(m)
		}
		return append(dst, recs...), err
	case DialectOPA:
		m, _ := obj.Interface().(map[string]any)
		rec, err = NormalizeOPA(m)
	case DialectAudit:
		rec, err = NormalizeValue(obj, Hints{Kind: KindAdmin})
	default:
		rec, err = NormalizeValue(obj, Hints{Kind: KindDecision})
	}
	if err != nil {
		return dst, err
	}
	return append(dst, rec), nil
}

// DetectDialect names the gateway dialect of an object that arrived without
// an endpoint to say it (an OTLP log body, a filelog line): LiteLLM's
// logging payload (guardrail_information beside LiteLLM's call ID) or audit
// payload (table_name and changed_by), Kong's log serializer (started_at
// and request, with Kong's latencies or an ai object); anything else is the record contract's
// own (decisions, admin events, OPA events, told apart by Normalize).
func DetectDialect(obj jsonbody.Value) Dialect {
	var guards, callID, table, changedBy, started, request, kongObject bool
	for i := range obj.Items {
		m := &obj.Items[i]
		isObject := m.Value.Kind == jsonbody.Object
		switch m.Key {
		case "guardrail_information":
			guards = true
		case "litellm_call_id":
			callID = true
		case "table_name":
			table = true
		case "changed_by":
			changedBy = true
		case "started_at":
			started = true
		case "request":
			request = isObject
		case "ai", "latencies":
			kongObject = kongObject || isObject
		}
	}
	if guards && callID || table && changedBy {
		return DialectLiteLLM
	}
	if started && request && kongObject {
		return DialectKong
	}
	return DialectDecisions
}
