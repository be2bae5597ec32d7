// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package ocsftest validates OCSF events against facts extracted from the
// schema's own files (internal/ocsf/testdata/ocsf-schema.json, written by
// testdata/extract.py from ocsf/ocsf-schema at the target version), not
// against our reading of it: every attribute defined by its class or
// object, required ones present (a profile's only when the event declares
// the profile), enum values defined, types right, objects' constraints met,
// and nothing outside the class except under unmapped.
package ocsftest // import "github.com/policyaudit/policyaudit/internal/ocsf/ocsftest"
import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
)

// Schema is the extract.
type Schema struct {
	Source  string                `json:"source"`
	Version string                `json:"version"`
	Types   map[string]string     `json:"types"`
	Classes map[string]Definition `json:"classes"`
	Objects map[string]Definition `json:"objects"`
}

// Definition is a class's or an object's attributes.
type Definition struct {
	UID         int64                `json:"uid"`
	CategoryUID int64                `json:"category_uid"`
	Profiles    []string             `json:"profiles"`
	Attributes  map[string]Attribute `json:"attributes"`
	Constraints map[string][]string  `json:"constraints"`
}

// Attribute is one attribute's facts.
type Attribute struct {
	Type        string `json:"type"`
	Array       bool   `json:"array"`
	Requirement string `json:"requirement"`
	Enum        []any  `json:"enum"` // integers (as JSON numbers) or strings
	Profile     string `json:"profile"`
}

// Load reads an extract.
func Load(path string) (*Schema, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Schema
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Validate checks an event (as pcommon's AsRaw gives it) against its class,
// found by class_uid, and returns every violation, each naming its path.
func (s *Schema) Validate(ev map[string]any) []string {
	uid, ok := ev["class_uid"].(int64)
	if !ok {
		return []string{"class_uid: missing or not an integer"}
	}
	var class *Definition
	for _, c := range s.Classes {
		if c.UID == uid {
			class = &c
			break
		}
	}
	if class == nil {
		return []string{fmt.Sprintf("class_uid %d: not a class of the extract", uid)}
	}
	v := validator{schema: s, profiles: declaredProfiles(ev)}
	for _, p := range v.profiles {
		if !slices.Contains(class.Profiles, p) {
			v.fail("metadata.profiles", "profile %q does not apply to class %d", p, uid)
		}
	}
	if cat, _ := ev["category_uid"].(int64); cat != class.CategoryUID {
		v.fail("category_uid", "%v, the class's category is %d", ev["category_uid"], class.CategoryUID)
	}
	if act, ok := ev["activity_id"].(int64); ok {
		if tu, _ := ev["type_uid"].(int64); tu != uid*100+act {
			v.fail("type_uid", "%v, not class_uid × 100 + activity_id (%d)", ev["type_uid"], uid*100+act)
		}
	}
	v.object("", *class, ev)
	sort.Strings(v.errs)
	return v.errs
}

func declaredProfiles(ev map[string]any) []string {
	md, _ := ev["metadata"].(map[string]any)
	list, _ := md["profiles"].([]any)
	var out []string
	for _, p := range list {
		if s, ok := p.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

type validator struct {
	schema   *Schema
	profiles []string
	errs     []string
}

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, path+": "+fmt.Sprintf(format, args...))
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// object checks an object's (or the event's) attributes against def.
func (v *validator) object(path string, def Definition, m map[string]any) {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		a, ok := def.Attributes[k]
		if !ok {
			v.fail(join(path, k), "not an attribute of its class or object")
			continue
		}
		if path == "" && a.Profile != "" && !slices.Contains(v.profiles, a.Profile) {
			v.fail(k, "an attribute of profile %q, which metadata.profiles does not declare", a.Profile)
		}
		v.attribute(join(path, k), a, m[k])
	}
	for k, a := range def.Attributes {
		if a.Requirement != "required" {
			continue
		}
		if a.Profile != "" && !slices.Contains(v.profiles, a.Profile) {
			continue // required only where the profile applies
		}
		if _, ok := m[k]; !ok {
			v.fail(join(path, k), "required, missing")
		}
	}
	for kind, attrs := range def.Constraints {
		n := 0
		for _, a := range attrs {
			if _, ok := m[a]; ok {
				n++
			}
		}
		switch {
		case kind == "at_least_one" && n == 0:
			v.fail(path, "needs at least one of %v", attrs)
		case kind == "just_one" && n != 1:
			v.fail(path, "needs exactly one of %v, has %d", attrs, n)
		}
	}
}

func (v *validator) attribute(path string, a Attribute, value any) {
	if a.Array {
		list, ok := value.([]any)
		if !ok {
			v.fail(path, "must be an array, got %T", value)
			return
		}
		for i, e := range list {
			v.single(path+"["+strconv.Itoa(i)+"]", a, e)
		}
		return
	}
	v.single(path, a, value)
}

func (v *validator) single(path string, a Attribute, value any) {
	if a.Type == "object" {
		return // unmapped's type: any object, content free
	}
	if obj, isObject := v.schema.Objects[a.Type]; isObject {
		m, ok := value.(map[string]any)
		if !ok {
			v.fail(path, "must be a %s object, got %T", a.Type, value)
			return
		}
		v.object(path, obj, m)
		return
	}
	base := a.Type
	if b, ok := v.schema.Types[a.Type]; ok {
		base = b
	}
	switch base {
	case "string_t":
		str, ok := value.(string)
		if !ok {
			v.fail(path, "must be a string (%s), got %T", a.Type, value)
			return
		}
		if len(a.Enum) > 0 && !slices.Contains(a.Enum, any(str)) {
			v.fail(path, "%q is not one of its enum values %v", str, a.Enum)
		}
	case "integer_t", "long_t":
		i, ok := value.(int64)
		if !ok {
			v.fail(path, "must be an integer (%s), got %T", a.Type, value)
			return
		}
		if len(a.Enum) > 0 && !slices.Contains(a.Enum, any(float64(i))) {
			v.fail(path, "%d is not one of its enum values %v", i, a.Enum)
		}
	case "float_t":
		switch value.(type) {
		case float64, int64:
		default:
			v.fail(path, "must be a number, got %T", value)
		}
	case "boolean_t":
		if _, ok := value.(bool); !ok {
			v.fail(path, "must be a boolean, got %T", value)
		}
	case "json_t":
		// Any JSON value.
	default:
		v.fail(path, "type %q is neither an object nor a type of the extract", a.Type)
	}
}

// Integers turns the whole numbers of decoded JSON (json.Number or float64)
// into int64, as pdata holds an event's integers and Validate reads them.
func Integers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = Integers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = Integers(e)
		}
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
	}
	return v
}
