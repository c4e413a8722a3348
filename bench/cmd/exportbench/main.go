// Command exportbench measures lyumen export end to end: it generates a
// SQLite store of synthetic traffic (conversations resent turn by turn,
// several languages, planted secrets and personal data, exact and near
// duplicates), then exports it with anonymization and dedup on, in a child
// process so that the peak memory reported is the export's alone.
//
//	go run ./bench/cmd/exportbench -n 1000000 -db /tmp/bench.db -format parquet
//	go run ./bench/cmd/exportbench -langacc   # the language detector on whatlanggo's own test data
//
// Generating a million records takes minutes; -n 100000 is a quick run.
// The store is kept and reused when -db names an existing file.
package main

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/abadojack/whatlanggo"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/dataset"
	"github.com/lyumen/lyumen/dataset/parquet"
	"github.com/lyumen/lyumen/redact"
	"github.com/lyumen/lyumen/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "exportbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("exportbench", flag.ContinueOnError)
	n := fs.Int("n", 1_000_000, "records to generate")
	dbPath := fs.String("db", "", "store file (default: a temp file); reused when it exists")
	format := fs.String("format", "parquet", "jsonl, sharegpt or parquet")
	out := fs.String("out", "", "export directory (default: a temp directory, removed)")
	child := fs.Bool("child", false, "internal: run the export only")
	langacc := fs.Bool("langacc", false, "report the language detector's accuracy on whatlanggo's test data and exit")
	memLimit := fs.Int64("memlimit", 320, "GOMEMLIMIT for the export, in MiB, as lyumen export sets it (0: none)")
	cpuProfile := fs.String("cpuprofile", "", "write the export's CPU profile here")
	memProfile := fs.String("memprofile", "", "write the export's heap profile, taken at the end, here")
	genOnly := fs.Bool("genonly", false, "generate the store and exit")
	stateMem := fs.Int64("statemem", 0, "MiB of thread and dedup tables kept resident (0: dataset.DefaultStateMemory)")
	layout := fs.String("layout", "arrival", "how a new store's records are written: arrival (in time order, interleaved, as the spool ships them) or conversation (each conversation's turns together, at random times: the store of the first four sessions)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *langacc {
		return languageAccuracy(stdout)
	}
	if *child {
		if *memLimit > 0 {
			debug.SetMemoryLimit(*memLimit << 20)
		}
		if *cpuProfile != "" {
			f, err := os.Create(*cpuProfile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		return exportOnly(ctx, *dbPath, *format, *out, *stateMem<<20, *memProfile, stdout)
	}
	if *dbPath == "" {
		dir, err := os.MkdirTemp("", "exportbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dbPath = filepath.Join(dir, "bench.db")
	}
	if _, err := os.Stat(*dbPath); errors.Is(err, os.ErrNotExist) {
		start := time.Now()
		convs, err := generate(ctx, *dbPath, *n, *layout)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "generated %d records (%d conversations) in %s\n", *n, convs, time.Since(start).Round(time.Second))
	} else {
		fmt.Fprintf(stdout, "reusing %s (as it was generated; -n and -layout apply to a new store)\n", *dbPath)
	}
	if *genOnly {
		return nil
	}
	if *out == "" {
		dir, err := os.MkdirTemp("", "exportbench-out")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*out = filepath.Join(dir, "ds")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self, "-child", "-db", *dbPath, "-format", *format, "-out", *out,
		"-memlimit", fmt.Sprint(*memLimit), "-cpuprofile", *cpuProfile, "-memprofile", *memProfile, "-statemem", fmt.Sprint(*stateMem))
	cmd.Stdout, cmd.Stderr = stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru != nil {
		fmt.Fprintf(stdout, "peak RSS of the export process: %.0f MiB; CPU %.1f s user + %.1f s system\n",
			float64(ru.Maxrss)/1024, time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds())
	}
	return nil
}

func exportOnly(ctx context.Context, dbPath, format, out string, stateMem int64, memProfile string, stdout io.Writer) error {
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	total, err := db.Count(ctx)
	if err != nil {
		return err
	}
	red, err := redact.New(redact.Options{})
	if err != nil {
		return err
	}
	var sink dataset.Sink
	if format == "parquet" {
		sink, err = parquet.New(out, 0)
	} else {
		sink, err = dataset.NewJSONL(out, dataset.Format(format), 0)
	}
	if err != nil {
		return err
	}
	var peakHeap uint64
	done := make(chan struct{})
	go func() { // sample the Go heap; the parent reads the RSS peak
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
		}
	}()
	start := time.Now()
	st, err := dataset.Export(ctx, db, sink, dataset.Options{
		Redactor: red, TestFraction: 0.05, Seed: 1, StateMemory: stateMem,
	})
	close(done)
	if err != nil {
		return err
	}
	if memProfile != "" {
		f, err := os.Create(memProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			return err
		}
	}
	if err := dataset.WriteFiles(out, dataset.Card{Format: dataset.Format(format)}, st); err != nil {
		return err
	}
	d := time.Since(start)
	size := dirSize(out)
	fmt.Fprintf(stdout, "exported %d records -> %d conversations (%d collapsed, %d exact + %d near duplicates) as %s, %.1f MiB\n",
		total, st.Examples, st.Collapsed, st.ExactDuplicates, st.NearDuplicates, format, float64(size)/(1<<20))
	fmt.Fprintf(stdout, "time %s; %.0f records/s end to end on %d CPUs\n",
		d.Round(time.Millisecond), float64(total)/d.Seconds(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(stdout, "peak Go heap in use %.0f MiB; thread state %.1f MiB, dedup state %.1f MiB (mapped files, see dataset/state.go)\n",
		float64(peakHeap)/(1<<20), float64(st.ThreadBytes)/(1<<20), float64(st.DedupBytes)/(1<<20))
	var kinds []string
	for k, v := range st.Redactions {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, v))
	}
	fmt.Fprintf(stdout, "redactions: %s\n", strings.Join(kinds, " "))
	return nil
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// --- generation -------------------------------------------------------------

// words per language, enough for whatlanggo to tell them apart and for
// MinHash to see unrelated conversations as unrelated.
var vocab = map[string][]string{
	"en": strings.Fields("the of and to in is you that it for on with as was are this be at have from or by one had not but what all were when we there can an your which their said if do will each about how up out them then she many some so these would other into has more her two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know get through back much before go good new write our used me man too any day same right look think also around another came come work three word must because does part even place well such here take why things help put years different away again off went old number great tell men say small every found still between name should home big give air line set own under read last never us left end along while might next sound below saw something thought both few those always looked show large often together asked house world going want school important until form food keep children feet land side without boy once animals life enough took sometimes four head above kind began almost live page got earth need far hand high year mother light parts country father let night following picture being study second eyes soon times story boys since white days ever paper hard near sentence better best across during today others however sure means knew try told young miles sun ways thing whole hear example heard several change answer room sea against top turned learn point city play toward five using himself usually"),
	"de": strings.Fields("der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war haben nur oder aber vor zur bis mehr durch man sein wurde sei hatte kann gegen vom können schon wenn habe seine ihre dann unter wir soll ich eines jahr zwei jahren diese dieser wieder keine seiner worden will zwischen immer millionen was sagte gibt alle seit muss doch jetzt drei neue damit bereits da ab ihr ihren geht menschen etwa heute wurden sondern eigenen stadt zeit kinder frage arbeit leben welt geld haus weg tag ende teil"),
	"fr": strings.Fields("le de un être et à il avoir ne je son que se qui ce dans en du elle au pour pas que vous par sur faire plus dire me on mon lui nous comme mais pouvoir avec tout y aller voir en bien où sans tu ou leur homme si deux mari moi vouloir te femme venir quand grand celui notre devoir là jour prendre même votre rien petit encore aussi quelque dont tout mer trouver donner temps ça peu même falloir sous parler alors main chose ton mettre vie savoir yeux passer autre après regarder toujours puis jamais cela aimer non heure croire cent monde donc enfant fois seul autre entendre"),
	"es": strings.Fields("el la de que y a en un ser se no haber por con su para como estar tener le lo todo pero más hacer o poder decir este ir otro ese la si me ya ver porque dar cuando él muy sin vez mucho saber qué sobre mi alguno mismo yo también hasta año dos querer entre así primero desde grande eso ni nos llegar pasar tiempo ella sí día uno bien poco deber entonces poner cosa tanto hombre parecer nuestro tan donde ahora parte después vida quedar siempre creer hablar llevar dejar nada cada seguir menos nuevo encontrar algo solo"),
	"pt": strings.Fields("o de a e do da em um para é com não uma os no se na por mais as dos como mas foi ao ele das tem à seu sua ou ser quando muito há nos já está eu também só pelo pela até isso ela entre era depois sem mesmo aos ter seus quem nas me esse eles estão você tinha foram essa num nem suas meu às minha têm numa pelos elas havia seja qual será nós tenho lhe deles essas esses pelas este fosse dele tu te vocês vos lhes meus minhas teu tua teus tuas nosso nossa nossos nossas"),
	"it": strings.Fields("il di che e la in un a per è non una sono mi si con ma ho lo ti come le se da io del questo ha cosa al bene no più anche tu hai sei della qui mio era tutto me ci fare lei chi dei solo suo perché gli così quando molto grazie nel essere sì ora fatto tutti stato niente posso siamo dove detto qualcosa voglio allora bisogno sempre devo prima casa abbiamo lui cosi tempo vuoi mia"),
	"ru": strings.Fields("и в не на я быть он с что а по это она этот к но они мы как из у который то за свой что весь год от так о для ты же все тот мочь вы человек такой его сказать только или ещё бы себя один как уже до время если сам когда другой вот говорить наш мой знать стать при чтобы дело жизнь кто первый очень два день её новый рука даже во со раз где там под можно ну какой после их работа без самый потом надо хотеть ли слово идти большой должен место иметь ничто"),
}

var langs = []string{"en", "en", "en", "en", "en", "de", "fr", "es", "pt", "it", "ru"}

var plants = []func(r *rand.Rand) string{
	func(r *rand.Rand) string { return fmt.Sprintf("write to me at user%d@example-mail.com", r.IntN(1e6)) },
	func(r *rand.Rand) string { return fmt.Sprintf("call +1 415 555 %04d", 100+r.IntN(9000)) },
	func(r *rand.Rand) string { return "my key is sk-proj-" + randStr(r, 48) },
	func(r *rand.Rand) string { return "token ghp_" + randStr(r, 36) },
	func(r *rand.Rand) string {
		return fmt.Sprintf("server 10.%d.%d.%d is down", r.IntN(256), r.IntN(256), 1+r.IntN(250))
	},
	func(r *rand.Rand) string {
		return "DATABASE_URL=postgres://app:" + randStr(r, 14) + "@db.internal/prod"
	},
	func(r *rand.Rand) string { return "card 4111 1111 1111 1111" },
}

func randStr(r *rand.Rand, n int) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alpha[r.IntN(len(alpha))]
	}
	b[0], b[1], b[2] = 'A', 'b', '7'
	return string(b)
}

func sentence(r *rand.Rand, lang string, words int) string {
	v := vocab[lang]
	var b strings.Builder
	for i := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(v[r.IntN(len(v))])
	}
	b.WriteString(".")
	return b.String()
}

var userAgents = []string{"OpenAI/Python 1.82.0", "OpenAI/JS 4.77.0", "curl/8.5.0", "python-requests/2.32.3",
	"Mozilla/5.0 (X11; Linux x86_64)", "Anthropic/Python 0.40.0", "axios/1.7.9", "SillyTavern/1.12"}
var countries = []string{"US", "US", "US", "DE", "DE", "FR", "GB", "IN", "BR", "ES", "IT", "RU", "CA", "NL", "PL", "JP", "LI"}
var models = []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "llama-3.3-70b", "gemini-2.5-flash"}

// generate writes n records: conversations of 1-8 turns (2.4 on average),
// each turn a record with the whole history, spread over 30 days. In the
// arrival layout the records are written in the order of their times, the
// conversations interleaved, as a gateway's spool ships them; in the
// conversation layout each conversation's turns are written together and
// its start time is random, so the store's pages are in no order of time.
func generate(ctx context.Context, path string, n int, layout string) (int, error) {
	if layout != "arrival" && layout != "conversation" {
		return 0, fmt.Errorf("-layout %q: arrival or conversation", layout)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	g := &generator{r: rand.New(rand.NewPCG(2026, 11)), base: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}
	var batch []*lyumen.Record
	written := 0
	emit := func(c *conv) error {
		batch = append(batch, g.turn(c, written))
		written++
		if len(batch) < 1000 {
			return nil
		}
		if err := db.WriteRecords(ctx, batch); err != nil {
			return err
		}
		batch = batch[:0]
		if written%100_000 == 0 {
			fmt.Fprintf(os.Stderr, "generated %d records\n", written)
		}
		return nil
	}
	if layout == "conversation" {
		for written < n {
			c := g.newConv(func() time.Time { return g.base.Add(time.Duration(g.r.Int64N(int64(30 * 24 * time.Hour)))) })
			for c.t < c.turns && written < n {
				if err := emit(c); err != nil {
					return g.convs, err
				}
			}
		}
	} else {
		// Conversations start as a Poisson process that spreads the n
		// records over 30 days; the next record is the earliest next turn
		// of those under way, or a new conversation's first.
		gap := float64(30*24*time.Hour) * 2.42 / float64(n)
		next := g.base
		var active convHeap
		for written < n {
			var c *conv
			if active.Len() == 0 || next.Before(active[0].at) {
				c = g.newConv(func() time.Time { return next })
				next = next.Add(time.Duration(g.r.ExpFloat64() * gap))
			} else {
				c = heap.Pop(&active).(*conv)
			}
			if err := emit(c); err != nil {
				return g.convs, err
			}
			if c.t < c.turns {
				heap.Push(&active, c)
			}
		}
	}
	if len(batch) > 0 {
		if err := db.WriteRecords(ctx, batch); err != nil {
			return g.convs, err
		}
	}
	return g.convs, nil
}

// generator makes the conversations, deterministically for its seed.
type generator struct {
	r      *rand.Rand
	base   time.Time
	convs  int
	firsts []pair // first turns, for duplicates
}

type pair struct{ user, answer string }

// conv is a conversation under way.
type conv struct {
	n                        int // its number
	at                       time.Time
	t, turns, dup            int
	lang, country, ua, model string
	msgs                     []lyumen.Message
}

// newConv starts a conversation at start().
func (g *generator) newConv(start func() time.Time) *conv {
	r := g.r
	g.convs++
	c := &conv{n: g.convs, lang: langs[r.IntN(len(langs))], turns: 1 + min(7, int(r.ExpFloat64()*2))}
	c.at = start()
	c.country, c.ua, c.model = countries[r.IntN(len(countries))], userAgents[r.IntN(len(userAgents))], models[r.IntN(len(models))]
	c.dup = r.IntN(100)
	if r.IntN(3) == 0 && !(c.dup < 5 && len(g.firsts) > 0) {
		c.msgs = append(c.msgs, lyumen.Message{Role: "system", Content: "You are a helpful assistant. " + sentence(r, c.lang, 8)})
	}
	return c
}

// turn returns c's next record, the written-th of the store.
func (g *generator) turn(c *conv, written int) *lyumen.Record {
	r := g.r
	user := sentence(r, c.lang, 10+r.IntN(40))
	if r.IntN(20) == 0 {
		user += " " + plants[r.IntN(len(plants))](r)
	}
	answer := sentence(r, c.lang, 40+r.IntN(120))
	switch {
	case c.t == 0 && c.dup < 3 && len(g.firsts) > 0: // an exact duplicate of an earlier one-turn conversation
		p := g.firsts[r.IntN(len(g.firsts))]
		user, answer, c.turns = p.user, p.answer, 1
	case c.t == 0 && c.dup < 5 && len(g.firsts) > 0: // a near duplicate: one word more
		p := g.firsts[r.IntN(len(g.firsts))]
		user, answer, c.turns = p.user+" "+vocab["en"][r.IntN(50)], p.answer, 1
	case c.t == 0 && c.turns == 1 && len(c.msgs) == 0 && len(g.firsts) < 1000:
		g.firsts = append(g.firsts, pair{user, answer})
	}
	c.msgs = append(c.msgs, lyumen.Message{Role: "user", Content: user})
	conversation := append([]lyumen.Message(nil), c.msgs...)
	body, _ := json.Marshal(map[string]any{"model": c.model, "messages": conversation})
	id := fmt.Sprintf("01%06x-%04x-7%03x-8%03x-%012x", c.n>>8&0xffffff, c.n&0xffff, c.t, r.IntN(4096), written)
	rec := &lyumen.Record{
		ID: id, ReceivedAt: c.at, Duration: time.Second, Surface: lyumen.SurfaceOpenAIChat, Model: c.model,
		ServedModel: c.model, Provider: "p", Status: 200, Request: body,
		Conversation: &lyumen.Conversation{Messages: conversation},
		Response:     &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: answer}, FinishReason: "stop"}}},
		Usage:        lyumen.Usage{PromptTokens: len(body) / 4, CompletionTokens: len(answer) / 4, TotalTokens: (len(body) + len(answer)) / 4},
		UserAgent:    c.ua, Country: c.country, Completeness: lyumen.Complete,
	}
	c.msgs = append(c.msgs, lyumen.Message{Role: "assistant", Content: answer})
	c.at = c.at.Add(time.Duration(20+r.IntN(300)) * time.Second)
	c.t++
	return rec
}

// convHeap orders the conversations under way by their next turn's time.
type convHeap []*conv

func (h convHeap) Len() int           { return len(h) }
func (h convHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h convHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *convHeap) Push(x any)        { *h = append(*h, x.(*conv)) }
func (h *convHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// languageAccuracy runs dataset.Language on whatlanggo's own test
// sentences (testdata/examples.json in its module, one per language).
func languageAccuracy(stdout io.Writer) error {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/abadojack/whatlanggo").Output()
	if err != nil {
		return fmt.Errorf("find whatlanggo: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "testdata", "examples.json"))
	if err != nil {
		return err
	}
	var examples map[string]string
	if err := json.Unmarshal(b, &examples); err != nil {
		return err
	}
	var right, total, rightKept, totalKept int
	var wrong []string
	for code, text := range examples {
		want := whatlanggo.CodeToLang(code).Iso6391()
		got := dataset.Language([]dataset.Message{{Role: "user", Content: text}})
		total++
		kept := !dataset.LanguageExcluded(code)
		if kept {
			totalKept++
		}
		if got == want {
			right++
			if kept {
				rightKept++
			}
		} else if kept {
			wrong = append(wrong, fmt.Sprintf("%s→%q", code, got))
		}
	}
	fmt.Fprintf(stdout, "whatlanggo test data: %d/%d right (%.1f%%) over every language; %d/%d (%.1f%%) over the languages dataset.Language keeps\n",
		right, total, 100*float64(right)/float64(total), rightKept, totalKept, 100*float64(rightKept)/float64(totalKept))
	if len(wrong) > 0 {
		fmt.Fprintf(stdout, "wrong: %s\n", strings.Join(wrong, " "))
	}
	return nil
}
