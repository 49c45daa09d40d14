package story

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// checkSummary asserts what every summary is: at most max runes, and made
// of the text's own words, where only the last may be cut short, and then
// only before punctuation or inside a script written without spaces.
func checkSummary(t testing.TB, text, title string, max int, out string) {
	t.Helper()
	if n := utf8.RuneCountInString(out); n > max && out != "" {
		t.Fatalf("Summarize(%q, %q, %d) = %q: %d runes", text, title, max, out, n)
	}
	if out == "" {
		return
	}
	if utf8.ValidString(text) && !utf8.ValidString(out) {
		t.Fatalf("Summarize(%q, %q, %d) = %q: invalid UTF-8", text, title, max, out)
	}
	if strings.TrimSpace(text) == "" {
		t.Fatalf("Summarize of blank text = %q", out)
	}
	words := strings.Fields(text)
	have := make(map[string]bool, len(words))
	for _, w := range words {
		have[w] = true
	}
	got := strings.Fields(out)
	for _, w := range got[:len(got)-1] {
		if !have[w] && !(strings.ContainsFunc(w, noSpaceScript) && strings.Contains(text, w)) {
			t.Fatalf("Summarize(%q, %q, %d) = %q: word %q is not in the text", text, title, max, out, w)
		}
	}
	last := got[len(got)-1]
	if have[last] || strings.ContainsFunc(last, noSpaceScript) && strings.Contains(text, last) {
		return
	}
	cut, ok := strings.CutSuffix(last, Ellipsis)
	if !ok || cut == "" {
		t.Fatalf("Summarize(%q, %q, %d) = %q: last word %q is not in the text", text, title, max, out, last)
	}
	for _, w := range words {
		rest, ok := strings.CutPrefix(w, cut)
		if !ok {
			continue
		}
		next, _ := utf8.DecodeRuneInString(rest)
		prev, _ := utf8.DecodeLastRuneInString(cut)
		if rest == "" || !unicode.IsLetter(next) && !unicode.IsDigit(next) ||
			noSpaceScript(prev) && noSpaceScript(next) {
			return
		}
	}
	t.Fatalf("Summarize(%q, %q, %d) = %q: cut inside a word (%q)", text, title, max, out, cut)
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name, text, title string
		max               int
		want              string
	}{
		{
			name: "english lead sentences, attribution and read-more dropped",
			text: "Russia launched 120 drones at Ukraine overnight, the air force said. Ukrinform reports this, referring to the Air Force. Mr. Smith met U.S. envoy Steve Witkoff in Geneva on Jan. 5. Read more: Background to the talks",
			max:  300,
			want: "Russia launched 120 drones at Ukraine overnight, the air force said. Mr. Smith met U.S. envoy Steve Witkoff in Geneva on Jan. 5.",
		},
		{
			name: "only whole sentences that fit",
			text: "First sentence is here. Second sentence is a bit longer than the first. Third.",
			max:  40,
			want: "First sentence is here.",
		},
		{
			name: "stops at the first sentence that does not fit",
			text: "Short one. This sentence is much too long to fit in the space that is left. Tiny.",
			max:  30,
			want: "Short one.",
		},
		{
			name: "ukrainian",
			text: "Сили протиповітряної оборони вночі знешкодили 84 з 97 дронів. Про це повідомляє Укрінформ з посиланням на Повітряні сили. Влучання зафіксовано у Харківській області.\n\nЧитайте також: Зеленський провів розмову з Макроном\n\nФото: Повітряні сили ЗСУ\n\nПідписуйтесь на наш канал у Telegram.",
			max:  400,
			want: "Сили протиповітряної оборони вночі знешкодили 84 з 97 дронів. Влучання зафіксовано у Харківській області.",
		},
		{
			name: "russian",
			text: "Президент России заявил, что готов к переговорам. Об этом сообщает ТАСС со ссылкой на пресс-службу Кремля. Встреча может пройти в г. Стамбуле в марте. Читайте также: Песков прокомментировал переговоры",
			max:  400,
			want: "Президент России заявил, что готов к переговорам. Встреча может пройти в г. Стамбуле в марте.",
		},
		{
			name: "arabic",
			text: "قال مسؤولون إن المحادثات ستستأنف يوم الاثنين في جنيف. هل تنجح المفاوضات؟ يقول الخبراء إن الأمر صعب.\n\nاقرأ أيضا: تفاصيل الخطة الجديدة",
			max:  400,
			want: "قال مسؤولون إن المحادثات ستستأنف يوم الاثنين في جنيف. هل تنجح المفاوضات؟ يقول الخبراء إن الأمر صعب.",
		},
		{
			name: "chinese sentences need no spaces",
			text: "俄罗斯周日表示愿意谈判。乌克兰尚未回应。",
			max:  12,
			want: "俄罗斯周日表示愿意谈判。",
		},
		{
			name: "wordpress footer",
			text: "Talks resume in Geneva on Monday.\n\nThe post Ukraine talks resume appeared first on Example News.",
			max:  200,
			want: "Talks resume in Geneva on Monday.",
		},
		{
			name: "wordpress excerpt fragment dropped",
			text: "Talks resume in Geneva on Monday. The 19-point draft replaces an earlier […]",
			max:  200,
			want: "Talks resume in Geneva on Monday.",
		},
		{
			name: "whitespace inside sentences collapsed",
			text: "Talks   resume\tin Geneva.",
			max:  200,
			want: "Talks resume in Geneva.",
		},
		{
			name: "paragraph break ends a sentence without a full stop",
			text: "What comes next\n\nLeaders meet on Monday.",
			max:  200,
			want: "What comes next Leaders meet on Monday.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Summarize(tt.text, tt.title, tt.max)
			if got != tt.want {
				t.Errorf("Summarize\n got %q\nwant %q", got, tt.want)
			}
			checkSummary(t, tt.text, tt.title, tt.max, got)
		})
	}
}

func TestSummarizeBoilerplate(t *testing.T) {
	const news = "Kyiv said talks would resume on Monday."
	dropped := []string{
		"Read more on Example News.",
		"Read more: Background to the talks",
		"Read also: Who is Steve Witkoff?",
		"Subscribe to our newsletter.",
		"Follow us on X and Telegram.",
		"Sign up for breaking news alerts.",
		"Click here to watch the briefing.",
		"Continue reading...",
		"Photo: Jane Roe / AP",
		"(Photo by Jane Roe/Getty Images)",
		"Image: Reuters",
		"Photo credit: Office of the President",
		"Getty Images",
		"(Reporting by Jane Roe; Editing by John Doe)",
		"(Editing by John Doe)",
		"Reporting by Jane Roe in Kyiv.",
		"The post Kyiv talks appeared first on Example News.",
		"Ukrinform reports this, referring to the General Staff.",
		"Interfax-Ukraine reports, citing the ministry.",
		"This was reported by the press service of the Ministry.",
		"As reported by Reuters.",
		"Advertisement",
		"Source: Reuters",
		"Читайте також: Зеленський провів розмову з Макроном",
		"Підписуйтесь на наш Telegram-канал.",
		"Фото: Повітряні сили ЗСУ",
		"Про це повідомляє Укрінформ з посиланням на Генштаб.",
		"Об этом сообщает РБК со ссылкой на источники.",
		"Читайте также: главное за сутки",
		"Подписывайтесь на наш канал.",
		"Как сообщает Интерфакс.",
		"اقرأ أيضا: تفاصيل الخطة",
		"تابعونا على تيليغرام",
	}
	for _, b := range dropped {
		t.Run("drop "+b, func(t *testing.T) {
			for _, text := range []string{b + "\n\n" + news, news + " " + b, news + "\n\n" + b} {
				if got := Summarize(text, "", 300); got != news {
					t.Errorf("Summarize(%q) = %q, want %q", text, got, news)
				}
			}
		})
	}
	kept := []string{
		"Subscribers to the service rose by 5% in a year.",
		"As reported by Reuters, five people died in the strike.",
		"Advertising revenue fell sharply.",
		"Reuters reported, citing three sources, that the talks stalled.",
		"Photographers gathered outside the ministry.",
		"Following the talks, Kyiv said it was hopeful.",
		"Copyright lawsuits against the company were dismissed.",
	}
	for _, k := range kept {
		t.Run("keep "+k, func(t *testing.T) {
			want := news + " " + k
			if got := Summarize(want, "", 300); got != want {
				t.Errorf("Summarize(%q) = %q, want it unchanged", want, got)
			}
		})
	}
}

func TestSummarizeTitleNotRepeated(t *testing.T) {
	const body = "Delegations met on Sunday and agreed a draft."
	tests := []struct {
		name, text, title, want string
	}{
		{"equal", "Ukraine peace talks resume in Geneva. " + body, "Ukraine peace talks resume in Geneva", body},
		{"equal ignoring case and punctuation", "“Ukraine peace talks resume in Geneva.” " + body, "UKRAINE PEACE TALKS RESUME IN GENEVA", body},
		{"contains, as a tagged lead", "UPDATE: Ukraine peace talks resume in Geneva. " + body, "Ukraine peace talks resume in Geneva", body},
		{"own paragraph", "Ukraine peace talks resume in Geneva\n\n" + body, "Ukraine peace talks resume in Geneva", body},
		{"after boilerplate", "Photo: AP\n\nUkraine peace talks resume in Geneva. " + body, "Ukraine peace talks resume in Geneva", body},
		{"ukrainian", "Переговори про мир відновилися у Женеві. " + body, "переговори про мир відновилися у женеві", body},
		{"short title does not eat the lead", "Ukraine said it would attend the talks. " + body, "Ukraine", "Ukraine said it would attend the talks. " + body},
		{"only the leading sentence", body + " Ukraine peace talks resume in Geneva.", "Ukraine peace talks resume in Geneva", body + " Ukraine peace talks resume in Geneva."},
		{"text is only the title", "Ukraine peace talks resume in Geneva.", "Ukraine peace talks resume in Geneva", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summarize(tt.text, tt.title, 300); got != tt.want {
				t.Errorf("Summarize(%q, %q)\n got %q\nwant %q", tt.text, tt.title, got, tt.want)
			}
		})
	}
}

func TestSummarizeCut(t *testing.T) {
	const long = "Russia launched one hundred and twenty drones at Kyiv overnight, officials said."
	tests := []struct {
		name, text string
		max        int
		want       string
	}{
		{"cut at a word", long, 40, "Russia launched one hundred and twenty…"},
		{"cut exactly at a word end", long, 16, "Russia launched…"},
		{"one rune short of a word end backs up", long, 15, "Russia…"},
		{"dangling comma removed", long, 64, "Russia launched one hundred and twenty drones at Kyiv overnight…"},
		{"no room for a word", long, 6, ""},
		{"one rune", long, 1, ""},
		{"zero", long, 0, ""},
		{"negative", long, -5, ""},
		{"single giant word", strings.Repeat("x", 50) + ".", 20, ""},
		{"cyrillic", "Сили протиповітряної оборони знешкодили дрони.", 25, "Сили протиповітряної…"},
		{"chinese cut between characters", "俄罗斯周日表示愿意谈判和平协议。", 6, "俄罗斯周日…"},
		{"fits exactly", "Talks resume.", 13, "Talks resume."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Summarize(tt.text, "", tt.max)
			if got != tt.want {
				t.Errorf("Summarize(%q, %d) = %q, want %q", tt.text, tt.max, got, tt.want)
			}
			if got != "" && got != tt.text && !strings.HasSuffix(got, Ellipsis) {
				t.Errorf("cut summary %q does not end with %q", got, Ellipsis)
			}
			checkSummary(t, tt.text, "", max(tt.max, 0), got)
		})
	}
}

// Every max from 1 up: the summary never exceeds it and never splits a word.
func TestSummarizeEveryLength(t *testing.T) {
	texts := []string{
		HTMLToText(readFixture(t, "wordpress_content.html")),
		HTMLToText(readFixture(t, "ukrainian.html")),
		"俄罗斯周日表示愿意谈判和平协议。乌克兰尚未回应。",
		"قال مسؤولون إن المحادثات ستستأنف يوم الاثنين في جنيف. هل تنجح المفاوضات؟",
	}
	for _, text := range texts {
		for m := 1; m <= 400; m++ {
			checkSummary(t, text, "", m, Summarize(text, "", m))
		}
	}
}

func TestSummarizeEmpty(t *testing.T) {
	tests := []struct{ name, text string }{
		{"empty", ""},
		{"blank", " \n\n \t"},
		{"only boilerplate", "Read more: x\n\nSubscribe to our newsletter.\n\nPhoto: AP"},
		{"only punctuation", "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summarize(tt.text, "Ukraine peace talks", 200); got != "" {
				t.Errorf("Summarize(%q) = %q, want \"\"", tt.text, got)
			}
		})
	}
}

func splitAll(text string) []string {
	var out []string
	sp := sentenceSplitter{text: text}
	for {
		s, ok := sp.next()
		if !ok {
			return out
		}
		out = append(out, strings.TrimSpace(s))
	}
}

func TestSentenceSplitter(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"title abbreviation", "Mr. Smith went. He left.", []string{"Mr. Smith went.", "He left."}},
		{"dotted acronym", "The U.S. Senate voted. It passed.", []string{"The U.S. Senate voted.", "It passed."}},
		{"initials", "J. K. Rowling spoke. Fans cheered.", []string{"J. K. Rowling spoke.", "Fans cheered."}},
		{"decimal number", "Prices rose 3.5% today. Markets fell.", []string{"Prices rose 3.5% today.", "Markets fell."}},
		{"domain", "Visit example.com now. Then leave.", []string{"Visit example.com now.", "Then leave."}},
		{"closing quote", `He said "no." Then he left.`, []string{`He said "no."`, "Then he left."}},
		{"guillemets", "Він сказав «ні.» Потім пішов.", []string{"Він сказав «ні.»", "Потім пішов."}},
		{"terminator runs", "Really?! Yes... Fine.", []string{"Really?!", "Yes...", "Fine."}},
		{"lowercase continues", "Wait... and then it ended. Next one.", []string{"Wait... and then it ended.", "Next one."}},
		{"number abbreviation", "No. 10 Downing Street said so. Next.", []string{"No. 10 Downing Street said so.", "Next."}},
		{"cyrillic initial", "В. Зеленський заявив про це. Далі буде.", []string{"В. Зеленський заявив про це.", "Далі буде."}},
		{"cyrillic city abbreviation", "Встреча в г. Стамбуле прошла. Итоги позже.", []string{"Встреча в г. Стамбуле прошла.", "Итоги позже."}},
		{"chinese", "第一句。第二句！第三句？", []string{"第一句。", "第二句！", "第三句？"}},
		{"arabic question mark", "هل تنجح المفاوضات؟ يقول الخبراء إن الأمر صعب.", []string{"هل تنجح المفاوضات؟", "يقول الخبراء إن الأمر صعب."}},
		{"paragraph breaks", "Heading\n\nBody text. More text.", []string{"Heading", "Body text.", "More text."}},
		{"no terminator", "just words", []string{"just words"}},
		{"digit after full stop", "It rose in 2024. 2025 was worse.", []string{"It rose in 2024.", "2025 was worse."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitAll(tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("sentences of %q\n got %q\nwant %q", tt.text, got, tt.want)
			}
		})
	}
}
