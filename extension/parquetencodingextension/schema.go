package parquetencodingextension

// event is the Parquet schema of the OCSF events destination ocsf writes
// (docs/records.md section 13): the union of API Activity, Entity
// Management and Detection Finding as the mapping fills them, one column a
// leaf, typed as OCSF types them: integer_t as INT32, long_t as INT64,
// timestamp_t as INT64 TIMESTAMP(MILLIS), boolean_t as BOOLEAN, string_t as
// STRING; objects as groups, arrays as LISTs; unmapped (free content) as
// JSON. Every attribute is optional but those every class requires. A body
// with an attribute this schema lacks is refused, never written without it.
type event struct {
	ActivityID     int32           `json:"activity_id" parquet:"activity_id"`
	ActivityName   *string         `json:"activity_name" parquet:"activity_name,optional"`
	CategoryUID    int32           `json:"category_uid" parquet:"category_uid"`
	ClassUID       int32           `json:"class_uid" parquet:"class_uid"`
	TypeUID        int64           `json:"type_uid" parquet:"type_uid"`
	Time           int64           `json:"time" parquet:"time,timestamp(millisecond)"`
	SeverityID     int32           `json:"severity_id" parquet:"severity_id"`
	StatusID       *int32          `json:"status_id" parquet:"status_id,optional"`
	StatusDetail   *string         `json:"status_detail" parquet:"status_detail,optional"`
	Message        *string         `json:"message" parquet:"message,optional"`
	Metadata       eventMetadata   `json:"metadata" parquet:"metadata"`
	ActionID       *int32          `json:"action_id" parquet:"action_id,optional"`
	Action         *string         `json:"action" parquet:"action,optional"`
	DispositionID  *int32          `json:"disposition_id" parquet:"disposition_id,optional"`
	IsAlert        *bool           `json:"is_alert" parquet:"is_alert,optional"`
	Policy         *policy         `json:"policy" parquet:"policy,optional"`
	Authorizations []authorization `json:"authorizations" parquet:"authorizations,list"`
	FirewallRule   *firewallRule   `json:"firewall_rule" parquet:"firewall_rule,optional"`
	API            *api            `json:"api" parquet:"api,optional"`
	Actor          *actor          `json:"actor" parquet:"actor,optional"`
	SrcEndpoint    *endpoint       `json:"src_endpoint" parquet:"src_endpoint,optional"`
	Resources      []resource      `json:"resources" parquet:"resources,list"`
	AIModel        *aiModel        `json:"ai_model" parquet:"ai_model,optional"`
	Trace          *trace          `json:"trace" parquet:"trace,optional"`
	Entity         *entity         `json:"entity" parquet:"entity,optional"`
	EntityResult   *entity         `json:"entity_result" parquet:"entity_result,optional"`
	Comment        *string         `json:"comment" parquet:"comment,optional"`
	FindingInfo    *findingInfo    `json:"finding_info" parquet:"finding_info,optional"`
	Unmapped       jsonText        `json:"unmapped" parquet:"unmapped,optional,json"`
}

// jsonText is a JSON value kept as its text (unmapped: any object).
type jsonText []byte

func (j *jsonText) UnmarshalJSON(b []byte) error {
	*j = append((*j)[:0], b...)
	return nil
}

func (j jsonText) MarshalJSON() ([]byte, error) {
	if j == nil {
		return []byte("null"), nil
	}
	return j, nil
}

type eventMetadata struct {
	Version        string   `json:"version" parquet:"version"`
	UID            *string  `json:"uid" parquet:"uid,optional"`
	CorrelationUID *string  `json:"correlation_uid" parquet:"correlation_uid,optional"`
	OriginalTime   *string  `json:"original_time" parquet:"original_time,optional"`
	LogName        *string  `json:"log_name" parquet:"log_name,optional"`
	Product        product  `json:"product" parquet:"product"`
	Profiles       []string `json:"profiles" parquet:"profiles,list"`
}

type product struct {
	Name       *string `json:"name" parquet:"name,optional"`
	VendorName *string `json:"vendor_name" parquet:"vendor_name,optional"`
	Version    *string `json:"version" parquet:"version,optional"`
}

type policy struct {
	UID       *string `json:"uid" parquet:"uid,optional"`
	Name      *string `json:"name" parquet:"name,optional"`
	Version   *string `json:"version" parquet:"version,optional"`
	IsApplied *bool   `json:"is_applied" parquet:"is_applied,optional"`
}

type authorization struct {
	Decision *string `json:"decision" parquet:"decision,optional"`
	Policy   *policy `json:"policy" parquet:"policy,optional"`
}

type firewallRule struct {
	UID          *string  `json:"uid" parquet:"uid,optional"`
	Name         *string  `json:"name" parquet:"name,optional"`
	Version      *string  `json:"version" parquet:"version,optional"`
	Category     *string  `json:"category" parquet:"category,optional"`
	MatchDetails []string `json:"match_details" parquet:"match_details,list"`
}

type api struct {
	Operation string   `json:"operation" parquet:"operation"`
	Request   *request `json:"request" parquet:"request,optional"`
	Service   *service `json:"service" parquet:"service,optional"`
}

type request struct {
	UID string `json:"uid" parquet:"uid"`
}

type service struct {
	Name *string `json:"name" parquet:"name,optional"`
}

type actor struct {
	User    *user   `json:"user" parquet:"user,optional"`
	AppName *string `json:"app_name" parquet:"app_name,optional"`
	AppUID  *string `json:"app_uid" parquet:"app_uid,optional"`
}

type user struct {
	UID           *string `json:"uid" parquet:"uid,optional"`
	CredentialUID *string `json:"credential_uid" parquet:"credential_uid,optional"`
	TypeID        *int32  `json:"type_id" parquet:"type_id,optional"`
	Type          *string `json:"type" parquet:"type,optional"`
}

type endpoint struct {
	Name *string `json:"name" parquet:"name,optional"`
	IP   *string `json:"ip" parquet:"ip,optional"`
}

type resource struct {
	Type *string `json:"type" parquet:"type,optional"`
	Name *string `json:"name" parquet:"name,optional"`
	UID  *string `json:"uid" parquet:"uid,optional"`
}

type aiModel struct {
	Name       string `json:"name" parquet:"name"`
	AIProvider string `json:"ai_provider" parquet:"ai_provider"`
}

type trace struct {
	UID string `json:"uid" parquet:"uid"`
}

type entity struct {
	Type    *string `json:"type" parquet:"type,optional"`
	UID     *string `json:"uid" parquet:"uid,optional"`
	Name    *string `json:"name" parquet:"name,optional"`
	Version *string `json:"version" parquet:"version,optional"`
	Policy  *policy `json:"policy" parquet:"policy,optional"`
}

type findingInfo struct {
	UID           string         `json:"uid" parquet:"uid"`
	Title         *string        `json:"title" parquet:"title,optional"`
	Types         []string       `json:"types" parquet:"types,list"`
	CreatedTime   *int64         `json:"created_time" parquet:"created_time,optional,timestamp(millisecond)"`
	RelatedEvents []relatedEvent `json:"related_events" parquet:"related_events,list"`
}

type relatedEvent struct {
	UID     string `json:"uid" parquet:"uid"`
	TypeUID *int64 `json:"type_uid" parquet:"type_uid,optional"`
}
