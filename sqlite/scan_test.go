package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/lyumen/lyumen/storetest"
)

func TestDB_Scan(t *testing.T) {
	storetest.RunScan(t, func(t *testing.T) storetest.ScanStore {
		return mustOpen(t, filepath.Join(t.TempDir(), "lyumen.db"))
	})
}
