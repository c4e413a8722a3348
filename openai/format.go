package openai

import (
	"encoding/json"

	"github.com/lyumen/lyumen"
)

// wireFormat is the JSON-output request of both OpenAI APIs: chat nests the
// schema under json_schema (response_format), Responses keeps it flat
// (text.format).
type wireFormat struct {
	Type        string          `json:"type,omitempty"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
	JSONSchema  *wireFormat     `json:"json_schema,omitempty"`
}

// chatFormat reads chat's response_format: nil for plain text.
func chatFormat(raw json.RawMessage) (*lyumen.Format, error) {
	if isNull(raw) {
		return nil, nil
	}
	var f wireFormat
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, decodeError(err, "response_format")
	}
	if f.Type == lyumen.FormatJSONSchema {
		if f.JSONSchema == nil {
			return nil, invalid("response_format.json_schema", "Missing required parameter: 'response_format.json_schema'.")
		}
		inner := *f.JSONSchema
		inner.Type = f.Type
		return format(inner, "response_format.json_schema")
	}
	return format(f, "response_format")
}

// format checks f and returns it in canonical form; param names where f
// sits in the request.
func format(f wireFormat, param string) (*lyumen.Format, error) {
	switch f.Type {
	case "text":
		return nil, nil
	case lyumen.FormatJSONObject:
		return &lyumen.Format{Type: f.Type}, nil
	case lyumen.FormatJSONSchema:
		if f.Name == "" {
			return nil, invalid(param+".name", "Missing required parameter: '%s.name'.", param)
		}
		return &lyumen.Format{Type: f.Type, Name: f.Name, Description: f.Description, Strict: f.Strict, Schema: f.Schema}, nil
	}
	return nil, invalid(param+".type", "Invalid value: '%s'. Supported values are: 'text', 'json_object', and 'json_schema'.", lyumen.Clip(f.Type))
}

// encodeChatFormat is chatFormat's inverse.
func encodeChatFormat(f *lyumen.Format) *wireFormat {
	if f == nil {
		return nil
	}
	if f.Type != lyumen.FormatJSONSchema {
		return &wireFormat{Type: f.Type}
	}
	return &wireFormat{Type: f.Type, JSONSchema: &wireFormat{Name: formatName(f), Description: f.Description, Schema: f.Schema, Strict: f.Strict}}
}

// formatName is the schema's name, which OpenAI requires and other APIs
// do not have.
func formatName(f *lyumen.Format) string {
	if f.Name != "" {
		return f.Name
	}
	return "response"
}
