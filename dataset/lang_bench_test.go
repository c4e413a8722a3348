package dataset_test

import (
	"testing"

	"github.com/lyumen/lyumen/dataset"
)

func BenchmarkLanguage(b *testing.B) {
	msgs := []dataset.Message{{Role: "user", Content: "question number 12 about topic 84"}}
	long := []dataset.Message{{Role: "user", Content: "Can you help me refactor this function? It reads records from a database and writes them to a file, but loads everything into memory first. I would like it to stream rows and print progress every ten thousand rows."}}
	b.Run("short", func(b *testing.B) {
		for b.Loop() {
			dataset.Language(msgs)
		}
	})
	b.Run("long", func(b *testing.B) {
		for b.Loop() {
			dataset.Language(long)
		}
	})
}
