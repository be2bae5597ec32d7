package record

import (
	"regexp"
	"strings"
)

// actionPattern is <resource>.<verb>, lower case.
var actionPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*$`)

var actorTypes = map[string]bool{"user": true, "service": true, "api_key": true}

var outcomes = map[string]string{
	"success": "success", "succeeded": "success", "ok": "success",
	"failure": "failure", "failed": "failure", "error": "failure",
}

// admin normalises an admin audit event (records.md section 2).
func (n *normalizer) admin() (*Record, error) {
	r := &Record{Kind: KindAdmin}
	n.common(r)

	n.actor(r)

	if s := n.str("action", "action", "event", "operation"); s != "" {
		r.Action = strings.ToLower(strings.TrimSpace(s))
		if !actionPattern.MatchString(r.Action) {
			n.fail(fieldErr("action", ReasonInvalidAction, "%q is not of the form <resource>.<verb> (e.g. policy.update)", s))
		}
	} else {
		n.fail(fieldErr("action", ReasonMissingField, "missing (accepted: action, event, operation)"))
	}

	n.resource(r)

	r.Outcome = "success"
	if s := n.str("outcome", "outcome", "status"); s != "" {
		o, ok := outcomes[strings.ToLower(strings.TrimSpace(s))]
		if !ok {
			n.fail(fieldErr("outcome", ReasonInvalidValue, "unknown outcome %q (accepted: success, failure)", s))
		}
		r.Outcome = o
	}

	if v, name, ok := n.in.first("details", "changes"); ok {
		obj, isObj := v.(map[string]any)
		if !isObj {
			n.fail(fieldErr("details", ReasonInvalidType, "%q must be an object, got %s", name, typeName(v)))
		} else {
			r.Details = plainValue(obj).(map[string]any)
		}
	}

	r.PolicyID = n.str("policy_id", "policy_id", "policy.id")
	r.PolicyVersion = n.str("policy_version", "policy_version", "policy.version", "revision")
	if r.Resource.Type == "policy" {
		if r.PolicyID == "" {
			r.PolicyID = r.Resource.ID
		}
		if r.PolicyVersion == "" {
			// The version this change produced, when the details say it.
			if s, ok := r.Details["to_version"].(string); ok {
				r.PolicyVersion = s
			} else {
				r.PolicyVersion = UnknownPolicyVersion
			}
		}
	}
	if r.PolicyID != "" && r.PolicyVersion == "" {
		r.PolicyVersion = UnknownPolicyVersion
	}

	r.Extra = n.extra()
	return r, n.err
}

func (n *normalizer) actor(r *Record) {
	v, name, ok := n.in.first("actor", "user", "admin")
	if !ok {
		n.fail(fieldErr("actor", ReasonMissingField, "missing (accepted: actor, user, admin)"))
		return
	}
	switch a := v.(type) {
	case map[string]any:
		sub := newInput(a)
		id, err := sub.firstString("actor.id", "id", "email", "name")
		n.fail(err)
		typ, err := sub.firstString("actor.type", "type")
		n.fail(err)
		ip, err := sub.firstString("actor.ip", "ip", "ip_address", "source_ip")
		n.fail(err)
		r.Actor = Actor{ID: id, Type: strings.ToLower(typ), IP: ip}
		n.keepExtra("actor", sub.remaining())
	default:
		s, isText := scalarString(v)
		if !isText {
			n.fail(fieldErr("actor", ReasonInvalidType, "%q must be a string or an object, got %s", name, typeName(v)))
			return
		}
		r.Actor = Actor{ID: s}
	}
	if r.Actor.ID == "" {
		n.fail(fieldErr("actor.id", ReasonMissingField, "missing"))
	}
	if r.Actor.Type == "" {
		r.Actor.Type = inferActorType(r.Actor.ID)
	} else if !actorTypes[r.Actor.Type] {
		n.fail(fieldErr("actor.type", ReasonInvalidValue, "unknown actor type %q (accepted: user, service, api_key)", r.Actor.Type))
	}
}

// inferActorType guesses the type of an actor named only by a string:
// service accounts and API keys by their usual prefixes, people otherwise.
func inferActorType(id string) string {
	l := strings.ToLower(id)
	for _, p := range [...]string{"svc-", "svc_", "service:", "system:", "serviceaccount:"} {
		if strings.HasPrefix(l, p) {
			return "service"
		}
	}
	for _, p := range [...]string{"key_", "key-", "sk-", "sk_", "api_key:", "apikey:"} {
		if strings.HasPrefix(l, p) {
			return "api_key"
		}
	}
	return "user"
}

func (n *normalizer) resource(r *Record) {
	v, name, ok := n.in.first("resource", "target")
	if !ok {
		n.fail(fieldErr("resource", ReasonMissingField, "missing (accepted: resource, target)"))
		return
	}
	switch res := v.(type) {
	case map[string]any:
		sub := newInput(res)
		id, err := sub.firstString("resource.id", "id")
		n.fail(err)
		typ, err := sub.firstString("resource.type", "type")
		n.fail(err)
		resName, err := sub.firstString("resource.name", "name")
		n.fail(err)
		r.Resource = Resource{ID: id, Type: strings.ToLower(typ), Name: resName}
		n.keepExtra("resource", sub.remaining())
	default:
		s, isText := scalarString(v)
		if !isText {
			n.fail(fieldErr("resource", ReasonInvalidType, "%q must be a string or an object, got %s", name, typeName(v)))
			return
		}
		r.Resource = Resource{ID: s}
	}
	if r.Resource.ID == "" {
		n.fail(fieldErr("resource.id", ReasonMissingField, "missing"))
	}
	if r.Resource.Type == "" {
		r.Resource.Type, _, _ = strings.Cut(r.Action, ".")
	}
}
