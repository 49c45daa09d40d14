package sources

import (
	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/rss"
)

// rssTranslator translates RSS exactly as gofeed's default translator
// does, except that it does not look for an item image. gofeed's image
// lookup parses every item's content and description as a whole HTML
// document (x/net/html and goquery) to find an <img>; Frontwire never
// reads the image, and story.FromItem parses the same HTML again, so the
// lookup cost about a tenth of the CPU of a cycle of new stories
// (docs/PERFORMANCE.md, "Pipeline").
type rssTranslator struct {
	gofeed.DefaultRSSTranslator
}

// Translate hides each item's description and content from the default
// translator, whose image lookup is then a few empty checks, and puts them
// back on both the source items and the translated ones.
func (t *rssTranslator) Translate(feed any) (*gofeed.Feed, error) {
	f, ok := feed.(*rss.Feed)
	if !ok {
		return t.DefaultRSSTranslator.Translate(feed)
	}
	type text struct{ description, content string }
	saved := make([]text, len(f.Items))
	for i, it := range f.Items {
		if it != nil {
			saved[i] = text{it.Description, it.Content}
			it.Description, it.Content = "", ""
		}
	}
	out, err := t.DefaultRSSTranslator.Translate(f)
	for i, it := range f.Items {
		if it != nil {
			it.Description, it.Content = saved[i].description, saved[i].content
		}
	}
	if err != nil {
		return out, err
	}
	// The default translator makes one item per source item, in order.
	for i, it := range out.Items {
		if i >= len(saved) || it == nil {
			break
		}
		// An empty description fell back to Dublin Core or iTunes above,
		// as it would have without the hiding.
		if saved[i].description != "" {
			it.Description = saved[i].description
		}
		it.Content = saved[i].content
	}
	return out, nil
}
