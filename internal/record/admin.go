// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"regexp"
	"strings"

	"github.com/policyaudit/policyaudit/internal/jsonbody"
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

	if s := n.str("action", inAction); s != "" {
		r.Action = strings.ToLower(strings.TrimSpace(s))
		if !actionPattern.MatchString(r.Action) {
			n.fail(fieldErr("action", ReasonInvalidAction, "%q is not of the form <resource>.<verb> (e.g. policy.update)", s))
		}
	} else {
		n.fail(fieldErr("action", ReasonMissingField, "missing (accepted: action, event, operation)"))
	}

	n.resource(r)

	r.Outcome = "success"
	if s := n.str("outcome", inOutcome); s != "" {
		o, ok := outcomes[strings.ToLower(strings.TrimSpace(s))]
		if !ok {
			n.fail(fieldErr("outcome", ReasonInvalidValue, "unknown outcome %q (accepted: success, failure)", s))
		}
		r.Outcome = o
	}

	if v, id, ok := n.in.first(inDetails); ok {
		if v.Kind != jsonbody.Object {
			n.fail(fieldErr("details", ReasonInvalidType, "%q must be an object, got %s", nameTexts[id], valueTypeName(v)))
		} else {
			r.Details = v.Plain().(map[string]any)
		}
	}

	r.PolicyID = n.str("policy_id", inPolicyID)
	r.PolicyVersion = n.str("policy_version", inPolicyVersion)
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
	v, nm, ok := n.in.first(inActor)
	if !ok {
		n.fail(fieldErr("actor", ReasonMissingField, "missing (accepted: actor, user, admin)"))
		return
	}
	if v.Kind == jsonbody.Object {
		var sub input
		sub.index(v.Items)
		id, err := sub.firstString("actor.id", inActorID)
		n.fail(err)
		typ, err := sub.firstString("actor.type", inActorType)
		n.fail(err)
		ip, err := sub.firstString("actor.ip", inActorIP)
		n.fail(err)
		r.Actor = Actor{ID: id, Type: strings.ToLower(typ), IP: ip}
		n.keepExtra("actor", sub.remaining())
	} else {
		s, isText := valueString(v)
		if !isText {
			n.fail(fieldErr("actor", ReasonInvalidType, "%q must be a string or an object, got %s", nameTexts[nm], valueTypeName(v)))
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
	v, nm, ok := n.in.first(inResource)
	if !ok {
		n.fail(fieldErr("resource", ReasonMissingField, "missing (accepted: resource, target)"))
		return
	}
	if v.Kind == jsonbody.Object {
		var sub input
		sub.index(v.Items)
		id, err := sub.firstString("resource.id", inResourceID)
		n.fail(err)
		typ, err := sub.firstString("resource.type", inResourceTyp)
		n.fail(err)
		resName, err := sub.firstString("resource.name", inResourceNam)
		n.fail(err)
		r.Resource = Resource{ID: id, Type: strings.ToLower(typ), Name: resName}
		n.keepExtra("resource", sub.remaining())
	} else {
		s, isText := valueString(v)
		if !isText {
			n.fail(fieldErr("resource", ReasonInvalidType, "%q must be a string or an object, got %s", nameTexts[nm], valueTypeName(v)))
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
