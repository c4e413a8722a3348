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
	for name, text := range map[string]string{
		"long German":  "Kannst du mir helfen, diese Funktion umzuschreiben? Sie liest Datensätze aus einer Datenbank und schreibt sie in eine Datei, lädt aber vorher alles in den Speicher. Ich möchte, dass sie die Zeilen streamt und den Fortschritt ausgibt.",
		"long Russian": "Можешь помочь мне переписать эту функцию? Она читает записи из базы данных и пишет их в файл, но сначала загружает всё в память. Я хочу, чтобы она читала строки потоком и печатала, сколько уже сделано.",
	} {
		msgs := []dataset.Message{{Role: "user", Content: text}}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				dataset.Language(msgs)
			}
		})
	}
}
