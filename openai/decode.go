package openai

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/lyumen/lyumen"
)

// field is one top-level key of a request body and where its value goes.
type field struct {
	key string
	dst any
}

// decodeObject reads a request body into its top-level fields. Keys are
// matched exactly later on, as the upstream matches them.
func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, decodeError(err, "")
	}
	if fields == nil {
		return nil, invalid("", "the request body must be a JSON object")
	}
	return fields, nil
}

// readFields decodes each present key into its destination.
func readFields(fields map[string]json.RawMessage, fs ...field) error {
	for _, f := range fs {
		if raw, ok := fields[f.key]; ok {
			if err := json.Unmarshal(raw, f.dst); err != nil {
				return decodeError(err, f.key)
			}
		}
	}
	return nil
}

// invalid is a KindInvalid error about param ("" for the whole body).
func invalid(param, format string, args ...any) *lyumen.Error {
	return &lyumen.Error{Kind: lyumen.KindInvalid, Param: param, Message: fmt.Sprintf(format, args...)}
}

// untranslatable refuses a feature the canonical form cannot carry, so no
// upstream but the one that invented it could honour it.
func untranslatable(param, format string, args ...any) *lyumen.Error {
	e := invalid(param, format, args...)
	e.Code = "unsupported_parameter"
	return e
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}
