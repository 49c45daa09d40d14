package story

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ellipsis ends a summary or title that had to be cut inside a sentence.
const Ellipsis = "…"

// Summarize makes a concise summary of at most max runes from the lead of
// text, a story's plain text as HTMLToText gives it.
//
// The summary is made of whole sentences, in order, as many as fit. Sentences
// that are not news are skipped: attribution lines ("Ukrinform reports this,
// referring to …", "Про це повідомляє …"), calls to read more, subscribe,
// follow or sign up, photo credits, "(Reporting by …)" and "(Editing by …)",
// WordPress's "The post … appeared first on …", "Continue reading…" and
// excerpt fragments ending in "[…]". A leading sentence that repeats the
// title is skipped too, since the title is shown beside the summary. If the
// first sentence kept is longer than max on its own, it is cut at the last
// word boundary before max-1 runes and Ellipsis is appended; a cut never
// falls inside a word (in scripts written without spaces, such as Chinese
// and Japanese, any boundary between two characters counts), and when no
// boundary exists the result is "".
//
// Empty text (a feed that gives only a title) gives "", and so does max < 1.
func Summarize(text, title string, max int) string {
	if max < 1 {
		return ""
	}
	normTitle := normalizeForCompare(title)
	var out []string
	used := 0
	leading := true
	sp := sentenceSplitter{text: text}
	for {
		s, ok := sp.next()
		if !ok {
			break
		}
		s = cleanSentence(s)
		if !strings.ContainsFunc(s, inWord) || isBoilerplate(s) {
			continue
		}
		if leading {
			leading = false
			if repeatsTitle(s, normTitle) {
				continue
			}
		}
		n := utf8.RuneCountInString(s)
		if len(out) == 0 {
			if n > max {
				return cutWords(s, max)
			}
			out = append(out, s)
			used = n
			continue
		}
		if used+1+n > max {
			break
		}
		out = append(out, s)
		used += 1 + n
	}
	return strings.Join(out, " ")
}

// cleanSentence collapses the whitespace inside a sentence, so a summary is
// one line whatever the text looked like.
func cleanSentence(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsFunc(s, func(r rune) bool { return r != ' ' && unicode.IsSpace(r) }) &&
		!strings.Contains(s, "  ") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// cutWords shortens s to at most max runes: the longest prefix of at most
// max-1 runes that ends at a word boundary, stripped of trailing spaces and
// punctuation that would dangle before the ellipsis, then Ellipsis. It gives
// "" when there is no such prefix.
func cutWords(s string, max int) string {
	limit := max - 1
	if limit < 1 {
		return ""
	}
	// end is the byte offset just past rune number limit.
	end, count := 0, 0
	for end < len(s) && count < limit {
		_, size := utf8.DecodeRuneInString(s[end:])
		end += size
		count++
	}
	if end >= len(s) {
		// Already short enough; callers only cut what is too long, but be
		// exact anyway.
		return s
	}
	cut := -1
	for i := end; i > 0; {
		next, _ := utf8.DecodeRuneInString(s[i:])
		prev, size := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsSpace(next) || unicode.IsSpace(prev) || (noSpaceScript(prev) && noSpaceScript(next)) ||
			(inWord(prev) && endsWord(next, s[i:])) {
			cut = i
			break
		}
		i -= size
	}
	if cut <= 0 {
		return ""
	}
	out := strings.TrimRightFunc(s[:cut], func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;:-–—([{«“‘\"'/", r)
	})
	if out == "" {
		return ""
	}
	return out + Ellipsis
}

// inWord reports whether r can be part of a word.
func inWord(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// endsWord reports whether next, the first rune of rest, closes the word
// before it: "overnight," can be cut before its comma. Full stops, hyphens
// and apostrophes do not, since "3.5", "well-known" and "don't" are one word,
// nor does a comma between digits ("1,000").
func endsWord(next rune, rest string) bool {
	switch next {
	case ')', ']', '}', '»', '”', '"', '!', '?', '…', '؟', '،':
		return true
	case ',', ';', ':':
		_, size := utf8.DecodeRuneInString(rest)
		after, _ := utf8.DecodeRuneInString(rest[size:])
		return len(rest) == size || unicode.IsSpace(after)
	}
	return false
}

// noSpaceScript reports whether r belongs to a script written without
// spaces between words, where a cut between two characters is no cut inside
// a word.
func noSpaceScript(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar) ||
		(r >= 0x3000 && r <= 0x303F) // CJK punctuation
}

// normalizeForCompare lowercases s, collapses its whitespace and trims
// punctuation at both ends, so a sentence and a title compare equal despite
// a full stop or quotes.
func normalizeForCompare(s string) string {
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) })
}

// repeatsTitle reports whether sentence s says the title again: it equals
// the title, or contains it and the title makes up at least half of it
// (feeds that open with "Title — Agency" or "UPDATE: Title"). A short title
// such as "Ukraine" does not make every sentence naming Ukraine a repeat.
func repeatsTitle(s, normTitle string) bool {
	if normTitle == "" {
		return false
	}
	ns := normalizeForCompare(s)
	if ns == normTitle {
		return true
	}
	return 2*len(normTitle) >= len(ns) && strings.Contains(ns, normTitle)
}

// sentenceSplitter walks text sentence by sentence, lazily, so a summary of
// a long article reads only its lead.
type sentenceSplitter struct {
	text string
	pos  int
}

// next returns the next sentence, untrimmed, or false at the end.
func (sp *sentenceSplitter) next() (string, bool) {
	t := sp.text
	// Skip separators between sentences.
	for sp.pos < len(t) {
		r, size := utf8.DecodeRuneInString(t[sp.pos:])
		if !unicode.IsSpace(r) {
			break
		}
		sp.pos += size
	}
	if sp.pos >= len(t) {
		return "", false
	}
	start := sp.pos
	for i := start; i < len(t); {
		r, size := utf8.DecodeRuneInString(t[i:])
		if r == '\n' {
			// A line break is a paragraph boundary from HTMLToText: a heading
			// or a "Read more" line ends there even without a full stop.
			sp.pos = i + size
			return t[start:i], true
		}
		if !isTerminator(r) {
			i += size
			continue
		}
		// Take the whole run of terminators and closing quotes or brackets:
		// "?!", "...", `."`, `.»)`.
		j := i + size
		single := r == '.'
		for j < len(t) {
			r2, s2 := utf8.DecodeRuneInString(t[j:])
			if !isTerminator(r2) && !isCloser(r2) {
				break
			}
			if isTerminator(r2) {
				single = false
			}
			j += s2
		}
		if isWideTerminator(r) || j >= len(t) {
			sp.pos = j
			return t[start:j], true
		}
		after, _ := utf8.DecodeRuneInString(t[j:])
		if !unicode.IsSpace(after) {
			// "3.5", "example.com", "U.S": no boundary without a space.
			i = j
			continue
		}
		k := j
		for k < len(t) {
			r3, s3 := utf8.DecodeRuneInString(t[k:])
			if !unicode.IsSpace(r3) || r3 == '\n' {
				break
			}
			k += s3
		}
		if k >= len(t) {
			sp.pos = k
			return t[start:j], true
		}
		nextRune, _ := utf8.DecodeRuneInString(t[k:])
		if nextRune != '\n' {
			if unicode.IsLower(nextRune) {
				// "approx. five", "… and then": the sentence goes on.
				i = k
				continue
			}
			if single && isAbbreviation(t[start:i], nextRune) {
				i = k
				continue
			}
		}
		sp.pos = k
		return t[start:j], true
	}
	sp.pos = len(t)
	return t[start:], true
}

func isTerminator(r rune) bool {
	switch r {
	case '.', '!', '?', '…', '。', '！', '？', '؟', '۔', '।', '‼', '⁇', '⁈', '⁉':
		return true
	}
	return false
}

// isWideTerminator reports the terminators of scripts that put no space
// after a sentence.
func isWideTerminator(r rune) bool {
	return r == '。' || r == '！' || r == '？'
}

func isCloser(r rune) bool {
	switch r {
	case '"', '\'', '”', '’', '»', '›', ')', ']', '}', '」', '』', '）':
		return true
	}
	return false
}

// isAbbreviation reports whether the full stop that ends before (the text
// of the sentence so far) belongs to an abbreviation rather than ending the
// sentence: a single initial ("J. K. Rowling", "В. Зеленський"), a dotted
// acronym ("U.S.", "e.g.", "т.е."), a title or other common abbreviation
// ("Mr.", "Gen.", "Jan."), or "No." before a number.
func isAbbreviation(before string, next rune) bool {
	word := before
	if i := strings.LastIndexFunc(before, unicode.IsSpace); i >= 0 {
		_, size := utf8.DecodeRuneInString(before[i:])
		word = before[i+size:]
	}
	word = strings.TrimLeftFunc(word, func(r rune) bool { return unicode.IsPunct(r) })
	if word == "" {
		return false
	}
	if utf8.RuneCountInString(word) == 1 {
		r, _ := utf8.DecodeRuneInString(word)
		return unicode.IsLetter(r)
	}
	if strings.IndexByte(word, '.') >= 0 {
		return true
	}
	lw := strings.ToLower(word)
	if lw == "no" || lw == "nos" || lw == "nr" || lw == "№" {
		return unicode.IsDigit(next)
	}
	switch lw {
	case "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft",
		"gen", "col", "lt", "maj", "sgt", "capt", "cpt", "cmdr", "adm",
		"gov", "sen", "rep", "rev", "hon", "pres", "amb", "supt", "insp",
		"inc", "ltd", "co", "corp", "bros", "dept", "univ", "assn",
		"jan", "feb", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
		"vs", "approx", "est", "fig", "vol", "ca", "cf",
		// Russian and Ukrainian.
		"г", "гг", "ул", "им", "см", "тыс", "тис", "млн", "млрд", "руб", "грн",
		"пр", "просп", "обл", "р", "ст", "проф", "акад", "ген":
		return true
	}
	return false
}

// isBoilerplate reports whether a sentence is there for the site rather than
// the news: see Summarize.
func isBoilerplate(s string) bool {
	l := strings.ToLower(s)
	switch strings.TrimRightFunc(l, unicode.IsPunct) {
	case "advertisement", "sponsored", "ad", "реклама", "advertising", "إعلان":
		// Only as the whole sentence: "Advertising revenue fell" is news.
		return true
	}
	for _, p := range boilerplatePrefixes() {
		if hasWordPrefix(l, p) {
			return true
		}
	}
	for _, p := range boilerplateStems() {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	for _, c := range boilerplateContains() {
		if strings.Contains(l, c) {
			return true
		}
	}
	for _, suf := range []string{"[…]", "[...]", "[&hellip;]", "(…)", "continue reading…", "continue reading...", "continue reading", "read more…", "read more...", "read more »", "read more"} {
		// An excerpt cut by the site, or a sentence glued to a link label.
		if strings.HasSuffix(l, suf) {
			return true
		}
	}
	return isAttribution(l)
}

// hasWordPrefix reports whether l starts with p and p ends at a word
// boundary, so "subscribe" does not match "subscribers say".
func hasWordPrefix(l, p string) bool {
	if !strings.HasPrefix(l, p) {
		return false
	}
	if len(l) == len(p) {
		return true
	}
	last, _ := utf8.DecodeLastRuneInString(p)
	if !unicode.IsLetter(last) && !unicode.IsDigit(last) {
		return true
	}
	next, _ := utf8.DecodeRuneInString(l[len(p):])
	return !unicode.IsLetter(next) && !unicode.IsDigit(next)
}

func boilerplatePrefixes() []string {
	return []string{
		"read more", "read also", "also read", "see also", "related:", "related coverage",
		"more:", "more on this", "subscribe", "follow us", "follow @", "sign up",
		"click here", "continue reading", "photo:", "photos:", "photo credit",
		"photograph:", "image:", "image credit", "picture:", "pictured:",
		"illustration:", "video:", "watch:", "watch the video", "listen:",
		"(photo", "(image", "(picture", "(reporting by", "(editing by",
		"(writing by", "(additional reporting", "(compiled by", "reporting by",
		"editing by", "additional reporting by", "share this",
		"share on", "download the", "download our", "listen to this article",
		"this article was originally published", "this story was originally published",
		"originally published", "copyright ©", "copyright (c)", "©", "source:", "sources:",
		"don't miss", "don’t miss", "get the latest", "join us on",
		"join our", "support our journalism", "we want to hear from you",
		// Russian and Ukrainian.
		"читайте также", "читайте також", "читайте нас", "подписывайтесь",
		"підписуйтесь", "подпишитесь", "підпишіться", "фото:", "фото -", "фото —",
		"фото –", "видео:", "відео:", "джерело:", "источник:",
		"больше новостей", "більше новин", "присоединяйтесь", "приєднуйтесь",
		// Arabic.
		"اقرأ أيضا", "اقرأ أيضاً", "اقرأ المزيد", "تابعونا", "تابعوا", "اشترك",
		"للمزيد", "المصدر:", "صورة:", "الصورة:",
	}
}

// boilerplateStems are word stems: Russian and Ukrainian inflect the verb
// ("сообщает", "сообщил", "сообщили"), so they match as plain prefixes.
func boilerplateStems() []string {
	return []string{
		"об этом сообщ", "об этом пиш", "об этом заяв", "об этом рассказ",
		"об этом говорится", "об этом информир", "об этом передает", "об этом передаёт",
		"про це повідом", "про це пиш", "про це заяв", "про це розпов",
		"про це йдеться", "про це інформу", "про це передає",
	}
}

func boilerplateContains() []string {
	return []string{
		" appeared first on ", "getty images", "(photo by", "(photo:", "photo by ",
		"(reporting by", "(editing by", "all rights reserved", "(фото", "фото: ",
		"(image:", "(afp)", "afp photo",
	}
}

// isAttribution reports whether a (lowercased) sentence only says where the
// news came from: "Ukrinform reports this, referring to the press service.",
// "This was reported by Reuters.", "As reported by Interfax." A sentence
// that carries news besides ("As reported by Reuters, five people died") is
// kept.
func isAttribution(l string) bool {
	for _, m := range []string{
		"reports this", "reported this", "writes this", "wrote this",
		"said this", "stated this", "announced this", "reports about this",
		"reported about this", "this was reported", "this is reported",
		"this was stated", "this was announced", "this was said",
		"this is stated", "this was written",
	} {
		if strings.Contains(l, m) {
			return true
		}
	}
	// "<Agency> reports, citing …" / "… reported with reference to …" with
	// no clause of its own.
	for _, m := range []string{
		"reports, citing", "reported, citing", "reports citing", "reported citing",
		"reports, referring to", "reported, referring to",
		"reports with reference to", "reported with reference to",
	} {
		if i := strings.Index(l, m); i >= 0 && len(strings.Fields(l[:i])) <= 5 &&
			!strings.Contains(l, " that ") {
			return true
		}
	}
	for _, p := range []string{"as reported by", "as reported in", "as reported earlier", "as reported on", "как сообщ", "как пишет", "як повідом", "як пише", "according to reports"} {
		if strings.HasPrefix(l, p) && !strings.ContainsRune(l, ',') {
			return true
		}
	}
	return false
}
