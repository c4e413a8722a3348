//go:build !linux

package dataset

import "errors"

// Elsewhere the tables are ordinary slices (see state.go).
const mappingSupported = false

func mapTemp(string, int) ([]byte, error) { return nil, errors.New("not supported") }

func unmap([]byte) error { return nil }

func release([]byte) {}

func residentMapped() (int64, bool) { return 0, false }
