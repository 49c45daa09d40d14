// Package workload generates deterministic subscription and story workloads
// for Frontwire's matching benchmarks and differential tests: the same seed
// always gives the same subscriptions and the same stories.
//
// The vocabulary is Zipf-distributed, like words in real text: a handful of
// function words make up a large share of every story, and the long tail is
// made of words that appear in few stories. As in natural language, frequent
// words are short and rare words long. Some vocabulary words carry accents,
// some are Cyrillic and a few are Han characters; stories also use curly
// quotes, possessives and hyphenated compounds, and common two- and
// three-word collocations ("peace plan") so that phrase queries have
// something to match.
//
// Subscriptions have 1–4 clauses. A clause is a word or a collocation
// phrase; people subscribe to topical words rather than to the most frequent
// ones, so clause words are drawn from a flatter Zipf distribution past the
// CommonWords most frequent words (median rank about 10,000). A few queries
// (2%) are built on a very common word. About a third hold an OR, a quarter
// an exclusion, and some use prefixes, title: and source: restrictions.
package workload

import (
	"fmt"
	"math/rand"
	"strings"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/story"
	"frontwire/internal/subscriptions"
)

// Parameters of the generated text.
const (
	VocabSize    = 150000
	Collocations = 4000
	StoryWords   = 80
	zipfS        = 1.07
	// CommonWords is how many of the most frequent words count as very
	// common: each occurs in at least about 1% of generated stories (the
	// 500th in 1.2%, the 1,000th in 0.7%). Ordinary query words are drawn
	// past them; only CommonQueryPercent of queries use one.
	CommonWords = 500
	// CommonQueryPercent is the share of queries built on a very common
	// word: the "few" of issue 5.
	CommonQueryPercent = 2
	queryRankSkip      = CommonWords
	// queryZipfV flattens the head of the query word distribution: people
	// subscribe to names and topics (median rank about 10,000), not to
	// the words every story uses.
	queryZipfV = 1000
)

// Generator produces workloads. It is deterministic for a seed and not safe
// for concurrent use.
type Generator struct {
	r       *rand.Rand
	vocab   []string // by rank; vocab[0] is the most frequent word
	colls   [][]int  // collocations as ranks
	storyZ  *rand.Zipf
	queryZ  *rand.Zipf
	collZ   *rand.Zipf
	sources []string
}

// functionWords open the vocabulary, most frequent first.
func functionWords() []string {
	return []string{
		"the", "of", "and", "to", "a", "in", "is", "that", "for", "on", "said", "with", "was", "as", "by", "at", "it",
		"from", "he", "his", "be", "has", "have", "an", "are", "its", "not", "but", "after", "were", "who", "will",
		"they", "had", "this", "been", "their", "which", "would", "also", "more", "one", "or", "new", "than", "we",
		"two", "year", "about", "over", "into", "up", "last", "people", "government", "president", "minister", "state",
	}
}

// New returns a generator for seed.
func New(seed int64) *Generator {
	r := rand.New(rand.NewSource(seed))
	g := &Generator{r: r}
	g.vocab = makeVocab(r)
	g.storyZ = rand.NewZipf(r, zipfS, 1, VocabSize-1)
	g.queryZ = rand.NewZipf(r, zipfS, queryZipfV, VocabSize-queryRankSkip-1)
	g.collZ = rand.NewZipf(r, zipfS, 100, Collocations-1)
	g.colls = make([][]int, Collocations)
	for i := range g.colls {
		n := 2 + r.Intn(2)
		c := make([]int, n)
		for j := range c {
			c[j] = queryRankSkip + int(g.queryZ.Uint64())
		}
		g.colls[i] = c
	}
	g.sources = []string{"Reuters World", "AP News", "BBC News", "Al Jazeera English", "Deutsche Welle", "France 24",
		"Kyiv Independent", "Meduza", "NHK World", "The Guardian", "Politico Europe", "Le Monde", "El País", "Agence France-Presse"}
	return g
}

func makeVocab(r *rand.Rand) []string {
	consonants := []string{"b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "sh", "ch", "tr", "st", "kr"}
	vowels := []string{"a", "e", "i", "o", "u", "ai", "ou", "ia"}
	accented := [][2]string{{"e", "é"}, {"a", "á"}, {"o", "ö"}, {"u", "ü"}, {"i", "í"}}
	cyrillic := map[byte]string{'a': "а", 'b': "б", 'c': "ц", 'd': "д", 'e': "е", 'f': "ф", 'g': "г", 'h': "х", 'i': "и", 'k': "к",
		'l': "л", 'm': "м", 'n': "н", 'o': "о", 'p': "п", 'r': "р", 's': "с", 't': "т", 'u': "у", 'v': "в", 'w': "в", 'z': "з"}
	vocab := make([]string, 0, VocabSize)
	seen := make(map[string]bool, VocabSize)
	for _, w := range functionWords() {
		vocab = append(vocab, w)
		seen[w] = true
	}
	for rank := len(vocab); len(vocab) < VocabSize; rank++ {
		// Frequent words are short: about one syllable more per decade of
		// rank, with some spread.
		syll := 1 + r.Intn(2)
		for x := rank; x >= 10; x /= 8 {
			syll++
		}
		syll = min(syll, 6) - r.Intn(2)
		var b strings.Builder
		for range max(syll, 1) {
			b.WriteString(consonants[r.Intn(len(consonants))])
			b.WriteString(vowels[r.Intn(len(vowels))])
		}
		if r.Intn(3) == 0 {
			b.WriteString(consonants[r.Intn(len(consonants))])
		}
		w := b.String()
		switch x := r.Intn(100); {
		case x < 6: // an accented vowel
			for _, pa := range accented {
				if i := strings.Index(w, pa[0]); i >= 0 {
					w = w[:i] + pa[1] + w[i+1:]
					break
				}
			}
		case x < 11: // a Cyrillic word
			var c strings.Builder
			for i := 0; i < len(w); i++ {
				c.WriteString(cyrillic[w[i]])
			}
			w = c.String()
		case x < 13: // two Han characters
			w = string(rune(0x4E00+r.Intn(3000))) + string(rune(0x4E00+r.Intn(3000)))
		}
		if seen[w] || len(w) < 2 {
			continue
		}
		seen[w] = true
		vocab = append(vocab, w)
	}
	return vocab
}

// Vocab returns the vocabulary, most frequent word first.
func (g *Generator) Vocab() []string { return g.vocab }

func (g *Generator) storyWord() string { return g.vocab[g.storyZ.Uint64()] }

// queryWord draws a word a person might subscribe to.
func (g *Generator) queryWord() string {
	return g.vocab[queryRankSkip+int(g.queryZ.Uint64())]
}

func (g *Generator) collocation() []string {
	c := g.colls[g.collZ.Uint64()]
	out := make([]string, len(c))
	for i, rank := range c {
		out[i] = g.vocab[rank]
	}
	return out
}

// Subscriptions returns n subscriptions with IDs 1..n spread over about n/3
// chats on two platforms.
func (g *Generator) Subscriptions(n int) []subscriptions.Subscription {
	subs := make([]subscriptions.Subscription, n)
	chats := max(n/3, 1)
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range subs {
		c := g.r.Intn(chats)
		platform := "telegram"
		if c%4 == 3 {
			platform = "discord"
		}
		subs[i] = subscriptions.Subscription{
			ID:      uint64(i + 1),
			Chat:    chat.Address{Platform: platform, Chat: fmt.Sprint(1000000 + c)},
			Query:   g.Query(),
			Created: created,
		}
	}
	return subs
}

// Query returns one random query, always valid.
func (g *Generator) Query() string {
	n := 1 + g.r.Intn(4)
	clauses := make([]string, n)
	for i := range clauses {
		clauses[i] = g.clause()
	}
	if g.r.Intn(100) < CommonQueryPercent {
		clauses[g.r.Intn(n)] = g.vocab[g.r.Intn(CommonWords)]
	}
	if g.r.Intn(3) == 0 {
		// An OR group over one clause and a new one; parenthesised when
		// other clauses surround it, sometimes even when not needed.
		i := g.r.Intn(n)
		or := clauses[i] + " OR " + g.clause()
		if g.r.Intn(3) == 0 {
			or += " OR " + g.clause()
		}
		if n > 1 || g.r.Intn(2) == 0 {
			or = "(" + or + ")"
		}
		clauses[i] = or
	}
	if g.r.Intn(4) == 0 {
		ex := "-" + g.casing(g.queryWord())
		if g.r.Intn(5) == 0 {
			ex = `-"` + strings.Join(g.collocation(), " ") + `"`
		}
		clauses = append(clauses, ex)
	}
	if g.r.Intn(50) == 0 {
		clauses = append(clauses, "source:"+strings.Fields(g.sources[g.r.Intn(len(g.sources))])[0])
	}
	return strings.Join(clauses, " ")
}

func (g *Generator) clause() string {
	switch x := g.r.Intn(100); {
	case x < 22:
		p := g.collocation()
		for i := range p {
			p[i] = g.casing(p[i])
		}
		if x < 3 {
			return `title:"` + strings.Join(p, " ") + `"`
		}
		return `"` + strings.Join(p, " ") + `"`
	case x < 29:
		// A prefix: cut a longer word after at least 5 letters.
		for range 10 {
			w := []rune(g.queryWord())
			if len(w) >= 7 {
				return string(w[:5+g.r.Intn(len(w)-6)]) + "*"
			}
		}
		return g.casing(g.queryWord())
	case x < 36:
		return "title:" + g.casing(g.queryWord())
	}
	return g.casing(g.queryWord())
}

// casing writes a word as people do: as is, capitalised, or without its
// accents now and then.
func (g *Generator) casing(w string) string {
	switch g.r.Intn(4) {
	case 0:
		r := []rune(w)
		return strings.ToUpper(string(r[:1])) + string(r[1:])
	case 1:
		return story.Fold(w) // the same word without accents
	}
	return w
}

// Stories returns n stories of about StoryWords words of text.
func (g *Generator) Stories(n int) []story.Story {
	out := make([]story.Story, n)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		out[i] = story.Story{
			ID:         fmt.Sprintf("story-%d", i),
			Source:     g.sources[g.r.Intn(len(g.sources))],
			Title:      g.text(6 + g.r.Intn(6)),
			Text:       g.text(StoryWords - 10 + g.r.Intn(20)),
			Categories: []string{g.casing(g.queryWord())},
			Published:  t0.Add(time.Duration(i) * time.Minute),
			FirstSeen:  t0.Add(time.Duration(i) * time.Minute),
		}
	}
	return out
}

// text returns about n words of decorated text.
func (g *Generator) text(n int) string {
	var b strings.Builder
	sentence := true
	for w := 0; w < n; {
		if w > 0 {
			b.WriteByte(' ')
		}
		x := g.r.Intn(100)
		switch {
		case x < 3:
			// A collocation, sometimes in curly quotes.
			c := g.collocation()
			if x < 1 {
				b.WriteString("“" + strings.Join(c, " ") + "”")
			} else {
				b.WriteString(strings.Join(c, " "))
			}
			w += len(c)
		case x < 5:
			b.WriteString(g.storyWord() + "-" + g.storyWord())
			w += 2
		case x < 6:
			fmt.Fprintf(&b, "%d", 1900+g.r.Intn(200))
			w++
		default:
			word := g.storyWord()
			if sentence || g.r.Intn(10) == 0 {
				r := []rune(word)
				word = strings.ToUpper(string(r[:1])) + string(r[1:])
			}
			b.WriteString(word)
			w++
			if g.r.Intn(30) == 0 {
				b.WriteString([]string{"’s", "'s"}[g.r.Intn(2)])
			}
		}
		sentence = false
		if g.r.Intn(12) == 0 {
			b.WriteString([]string{".", ",", ";", " —", ":"}[g.r.Intn(5)])
			sentence = true
		}
	}
	if g.r.Intn(10) == 0 {
		b.WriteString(" Президент заявил о переговорах.")
	}
	if g.r.Intn(10) == 0 {
		b.WriteString(" 东京和北京的会谈继续进行。")
	}
	return b.String()
}
