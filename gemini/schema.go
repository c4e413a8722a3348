package gemini

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/lyumen/lyumen"
)

// schemaKeys are the fields of Gemini's Schema, an OpenAPI 3.0 subset.
// Gemini refuses a request with any other key in a function's parameters,
// so every other JSON Schema keyword is dropped: $schema, $id, $comment,
// additionalProperties, patternProperties, unevaluatedProperties,
// dependentRequired, allOf (but see below), not, if/then/else,
// exclusiveMinimum/Maximum, multipleOf, uniqueItems, contains, examples,
// readOnly, writeOnly, deprecated, contentEncoding and the like. Some are
// rewritten rather than dropped:
//   - $ref to #/$defs/… or #/definitions/… is replaced by the definition
//     (a recursive one is refused: Gemini's schema cannot refer);
//   - oneOf becomes anyOf, and an allOf of one schema becomes that schema;
//   - "type": ["string", "null"] becomes "type": "string", "nullable": true,
//     and several non-null types become an anyOf of each;
//   - "const": "x" becomes "enum": ["x"];
//   - an enum of anything but strings is dropped (Gemini's are strings),
//     leaving the type its values share; an enum without a type is typed
//     as string;
//   - format is kept only where Gemini reads it (date-time, enum, int32,
//     int64, float, double);
//   - an object schema with no properties at the top is no parameters at
//     all, since Gemini refuses an OBJECT without properties;
//   - an object with no properties below the top, or one that takes keys
//     of the caller's choosing (additionalProperties other than false, a
//     free-form map as MCP tools declare them), an object requiring a key
//     its properties do not declare, and an array without a schema for its
//     items (a list of anything, a tuple) have no Schema Gemini takes (it
//     refuses the last two: "property is not defined", "items: missing
//     field"): such a tool goes as JSON Schema, as the client wrote it, in
//     parametersJsonSchema, which Gemini reads instead of parameters.
var schemaKeys = map[string]bool{
	"type": true, "format": true, "title": true, "description": true, "nullable": true, "enum": true,
	"maxItems": true, "minItems": true, "properties": true, "required": true, "minProperties": true,
	"maxProperties": true, "minLength": true, "maxLength": true, "pattern": true, "example": true,
	"anyOf": true, "propertyOrdering": true, "default": true, "items": true, "minimum": true, "maximum": true,
}

var schemaFormats = map[string]bool{"date-time": true, "enum": true, "int32": true, "int64": true, "float": true, "double": true}

// maxRefDepth bounds the $refs followed within one another: deeper is taken
// for recursion.
const maxRefDepth = 16

// parameters renders a tool's JSON Schema as a Gemini Schema, or, when no
// Schema can say it (jsonSchema set), returns it as it came.
func parameters(t lyumen.Tool) (params json.RawMessage, jsonSchema bool, err error) {
	raw := bytes.TrimSpace(t.Parameters)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers go back as they came
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, false, lyumen.Errorf(lyumen.KindInvalid, "the parameters of the tool '%s' are not valid JSON", lyumen.Clip(t.Name))
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, false, lyumen.Errorf(lyumen.KindInvalid, "the parameters of the tool '%s' are not a JSON Schema object", lyumen.Clip(t.Name))
	}
	c := schemaCleaner{root: obj, tool: t.Name, budget: 4*len(raw) + 64<<10, sizes: map[string]int{}}
	out, err := c.clean(obj, 0)
	if err != nil {
		return nil, false, err
	}
	if freeForm(obj, false) || incomplete(out) {
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil { // valid: decoded above
			return nil, false, err
		}
		return b.Bytes(), true, nil
	}
	if props, _ := out["properties"].(map[string]any); out["type"] == "object" && len(props) == 0 {
		return nil, false, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, false, lyumen.Errorf(lyumen.KindInvalid, "the parameters of the tool '%s' cannot be sent to this model's provider", lyumen.Clip(t.Name))
	}
	return b, false, nil
}

// freeForm reports a schema anywhere in v, $defs included, for an object
// whose keys the caller chooses: one with additionalProperties other than
// false, or, below the top, an object without properties. Gemini's Schema
// has no such object (it refuses an OBJECT without properties).
func freeForm(v any, below bool) bool {
	switch v := v.(type) {
	case map[string]any:
		if ap, ok := v["additionalProperties"]; ok && ap != false {
			return true
		}
		if props, _ := v["properties"].(map[string]any); below && isObject(v["type"]) && len(props) == 0 {
			return true
		}
		for _, w := range v {
			if freeForm(w, true) {
				return true
			}
		}
	case []any:
		for _, w := range v {
			if freeForm(w, true) {
				return true
			}
		}
	}
	return false
}

// incomplete reports a cleaned Schema that Gemini refuses although the
// JSON Schema it came from is sound: an array without a schema for its
// items (a list of anything, or a tuple, whose items are dropped) or an
// object requiring a key its properties do not declare as a schema.
func incomplete(s map[string]any) bool {
	props, _ := s["properties"].(map[string]any)
	if required, ok := s["required"].([]any); ok {
		for _, name := range required {
			if name, _ := name.(string); props[name] == nil {
				return true
			}
		}
	}
	items, ok := s["items"].(map[string]any)
	if s["type"] == "array" && !ok || ok && incomplete(items) {
		return true
	}
	for _, sub := range props {
		if sub, ok := sub.(map[string]any); ok && incomplete(sub) {
			return true
		}
	}
	for _, sub := range anyOf(s) {
		if sub, ok := sub.(map[string]any); ok && incomplete(sub) {
			return true
		}
	}
	return false
}

// isObject reports a JSON Schema type of object, alone or among others.
func isObject(t any) bool {
	if ts, ok := t.([]any); ok {
		return slices.Contains(ts, any("object"))
	}
	return t == "object"
}

type schemaCleaner struct {
	root map[string]any
	tool string
	// budget bounds the bytes that expanding $refs may add: a few small
	// definitions referring to each other several times over would
	// otherwise grow without limit.
	budget int
	sizes  map[string]int // encoded size of each definition, by $ref
}

func (c *schemaCleaner) clean(s map[string]any, refs int) (map[string]any, error) {
	if ref, ok := s["$ref"].(string); ok {
		def, err := c.resolve(ref, refs)
		if err != nil {
			return nil, err
		}
		merged := make(map[string]any, len(def)+len(s))
		for k, v := range def {
			merged[k] = v
		}
		for k, v := range s { // the referring schema's own words (description) win
			if k != "$ref" {
				merged[k] = v
			}
		}
		return c.clean(merged, refs+1)
	}
	if all, ok := s["allOf"].([]any); ok && len(all) == 1 {
		if one, ok := all[0].(map[string]any); ok {
			merged := make(map[string]any, len(one)+len(s))
			for k, v := range one {
				merged[k] = v
			}
			for k, v := range s {
				if k != "allOf" {
					merged[k] = v
				}
			}
			return c.clean(merged, refs)
		}
	}
	out := make(map[string]any, len(s))
	// In key order, so that keys writing the same field (anyOf, oneOf and
	// a list of types) do it in the same order every time.
	for _, k := range slices.Sorted(maps.Keys(s)) {
		v := s[k]
		switch k {
		case "properties":
			props, ok := v.(map[string]any)
			if !ok {
				continue
			}
			cleaned := make(map[string]any, len(props))
			for name, p := range props {
				ps, ok := p.(map[string]any)
				if !ok {
					continue // true/false schemas say nothing Gemini can hold
				}
				cs, err := c.clean(ps, refs)
				if err != nil {
					return nil, err
				}
				cleaned[name] = cs
			}
			out[k] = cleaned
		case "items":
			is, ok := v.(map[string]any)
			if !ok {
				continue // tuple forms have no Gemini equivalent
			}
			cs, err := c.clean(is, refs)
			if err != nil {
				return nil, err
			}
			out[k] = cs
		case "anyOf", "oneOf":
			list, ok := v.([]any)
			if !ok {
				continue
			}
			alts := anyOf(out)
			for _, e := range list {
				es, ok := e.(map[string]any)
				if !ok {
					continue
				}
				cs, err := c.clean(es, refs)
				if err != nil {
					return nil, err
				}
				alts = append(alts, cs)
			}
			out["anyOf"] = alts
		case "type":
			switch t := v.(type) {
			case string:
				out[k] = t
			case []any:
				var types []string
				for _, e := range t {
					switch name, _ := e.(string); name {
					case "null":
						out["nullable"] = true
					case "":
					default:
						types = append(types, name)
					}
				}
				switch len(types) {
				case 0:
				case 1:
					out[k] = types[0]
				default:
					alts := make([]any, len(types))
					for i, name := range types {
						alts[i] = map[string]any{"type": name}
					}
					out["anyOf"] = append(alts, anyOf(out)...)
				}
			}
		case "const":
			if s, ok := v.(string); ok {
				out["enum"] = []any{s}
			}
		case "enum":
			list, ok := v.([]any)
			if !ok {
				continue
			}
			strs := true
			for _, e := range list {
				_, isStr := e.(string)
				strs = strs && isStr
			}
			if strs {
				out[k] = list
			} else if _, typed := s["type"]; !typed {
				if t := enumType(list); t != "" {
					out["type"] = t // the values say what the dropped enum allowed
				}
			}
		case "format":
			if f, _ := v.(string); schemaFormats[f] {
				out[k] = f
			}
		default:
			if schemaKeys[k] {
				out[k] = v
			}
		}
	}
	if _, ok := out["enum"]; ok && out["type"] == nil {
		out["type"] = "string" // Gemini's enums are of strings, and say so
	}
	return out, nil
}

// enumType is the type all of an enum's values share: integer, number,
// boolean, or "" when they differ.
func enumType(list []any) string {
	t := ""
	for _, e := range list {
		et := ""
		switch v := e.(type) {
		case json.Number:
			et = "number"
			if _, err := v.Int64(); err == nil {
				et = "integer"
			}
		case bool:
			et = "boolean"
		}
		switch {
		case et == "":
			return ""
		case t == "" || t == et:
			t = et
		case t == "integer" && et == "number", t == "number" && et == "integer":
			t = "number"
		default:
			return ""
		}
	}
	return t
}

func anyOf(s map[string]any) []any {
	list, _ := s["anyOf"].([]any)
	return list
}

// resolve finds a local definition.
func (c *schemaCleaner) resolve(ref string, depth int) (map[string]any, error) {
	if depth >= maxRefDepth {
		return nil, lyumen.Errorf(lyumen.KindInvalid,
			"the parameters of the tool '%s' refer to themselves ($ref), which this model's provider cannot take", lyumen.Clip(c.tool))
	}
	var defs map[string]any
	name := ""
	switch {
	case strings.HasPrefix(ref, "#/$defs/"):
		defs, _ = c.root["$defs"].(map[string]any)
		name = strings.TrimPrefix(ref, "#/$defs/")
	case strings.HasPrefix(ref, "#/definitions/"):
		defs, _ = c.root["definitions"].(map[string]any)
		name = strings.TrimPrefix(ref, "#/definitions/")
	}
	name = strings.ReplaceAll(strings.ReplaceAll(name, "~1", "/"), "~0", "~") // JSON Pointer escapes
	def, ok := defs[name].(map[string]any)
	if !ok {
		return nil, lyumen.Errorf(lyumen.KindInvalid,
			"the parameters of the tool '%s' refer to '%s', which is not among their $defs: this model's provider needs every schema inline", lyumen.Clip(c.tool), lyumen.Clip(ref))
	}
	size, ok := c.sizes[ref]
	if !ok {
		b, _ := json.Marshal(def)
		size = len(b)
		c.sizes[ref] = size
	}
	if c.budget -= size; c.budget < 0 {
		return nil, lyumen.Errorf(lyumen.KindInvalid,
			"the parameters of the tool '%s' grow too large when their $refs are expanded, as this model's provider needs", lyumen.Clip(c.tool))
	}
	return def, nil
}
