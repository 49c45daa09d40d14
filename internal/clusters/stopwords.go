package clusters

// isStopword reports whether a folded word is too common to say anything
// about which event a story reports. The list holds English function words,
// the verbs and nouns headlines use for every kind of event, and the
// commonest function words of German, French, Spanish, Ukrainian and
// Russian, the other languages Frontwire's feeds are seen in. It is a
// switch rather than a map so that it is not package-level mutable state.
func isStopword(w string) bool {
	switch w {
	// English function words.
	case "a", "an", "the", "and", "or", "but", "of", "in", "on", "at", "to",
		"for", "from", "by", "with", "as", "is", "are", "was", "were", "be",
		"been", "has", "have", "had", "it", "its", "this", "that", "these",
		"those", "after", "before", "over", "into", "amid", "about", "than",
		"will", "would", "could", "can", "may", "not", "no", "new", "up",
		"out", "s", "he", "she", "they", "his", "her", "their", "we", "our",
		"who", "what", "why", "how", "says", "said", "say", "report",
		"reports", "reported", "live", "latest", "update", "updates",
		"breaking", "news", "watch", "video", "photos", "just", "more",
		"first", "also", "while", "during", "against", "under", "if",
		"does", "do", "did", "one", "two", "all", "some", "via":
		return true
	// German, French, Spanish.
	case "der", "die", "das", "und", "im", "mit", "von", "zu", "den", "dem",
		"ein", "eine", "auf", "für", "nach", "bei", "le", "la", "les", "des",
		"du", "de", "et", "en", "un", "une", "pour", "avec", "sur", "el",
		"los", "las", "y", "con", "para", "por", "del", "se":
		return true
	// Ukrainian and Russian (folded to lower case).
	case "і", "й", "та", "в", "у", "на", "з", "із", "зі", "до", "що", "як",
		"и", "с", "со", "о", "об", "по", "за", "от", "для", "не",
		"это", "це", "після", "после":
		return true
	}
	return false
}
