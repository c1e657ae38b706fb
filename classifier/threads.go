package classifier

import (
	"sync"

	"github.com/otklik/otklik"
)

// Threads remembers the topic of recent posts, so that a comment that names no subject of
// its own («у нас тоже так», «а когда починят?») is given its post's: in a thread,
// residents answer the post. A comment keeps every decision of its own; only a topic of
// "other" is filled, and the explanation says so. The location is not: by the labelling
// contract it is the place the publication itself names, "" when it names none.
//
// Threads depends on order (a post must be seen before its comments), so callers that
// classify in parallel apply it in input order: see Classifier.ClassifyOne. It is safe
// for concurrent use, and bounded: the memory is emptied when it holds maxThreads posts.
type Threads struct {
	routing map[string]string
	mu      sync.Mutex
	posts   map[string]threadClass
}

// threadClass is what a comment may take from its post.
type threadClass struct {
	topic string
}

// maxThreads bounds the posts Threads remembers (about 100 bytes each).
const maxThreads = 1 << 16

// termThreadTopic is the evidence of an inherited topic (curators read it).
const termThreadTopic = "тема поста"

func newThreads(routing map[string]string) *Threads {
	return &Threads{routing: routing, posts: map[string]threadClass{}}
}

// threadKey names the thread of a classified publication (otklik.Publication.ThreadID:
// its own id for a post, its parent's for a comment); "" when the publication does not
// say which wall it is on or which post it is under.
func threadKey(p *otklik.Publication) string {
	id := p.PostID
	if p.Kind == otklik.Comment {
		id = p.ParentID
	}
	if id == "" || p.Owner == "" {
		return ""
	}
	return p.ThreadID()
}

// Remembers reports whether Apply records p: a classified post of a known thread whose
// topic is not "other". A nil Threads remembers nothing.
func (t *Threads) Remembers(p *otklik.Publication) bool {
	return t != nil && p.Class != nil && p.Kind != otklik.Comment && p.Class.Topic != "other" && threadKey(p) != ""
}

// Needs reports whether Apply may change p: a classified comment under a known post whose
// topic is "other". A nil Threads needs nothing.
func (t *Threads) Needs(p *otklik.Publication) bool {
	return t != nil && p.Class != nil && p.Kind == otklik.Comment && p.Class.Topic == "other" && threadKey(p) != ""
}

// Apply records a classified post, or fills a classified comment's topic from its post as
// described on Threads; it reports whether it changed p.Class. A nil Threads does nothing.
func (t *Threads) Apply(p *otklik.Publication) bool {
	if t.Remembers(p) {
		t.mu.Lock()
		if len(t.posts) >= maxThreads {
			clear(t.posts)
		}
		t.posts[threadKey(p)] = threadClass{topic: p.Class.Topic}
		t.mu.Unlock()
		return false
	}
	if !t.Needs(p) {
		return false
	}
	t.mu.Lock()
	post, ok := t.posts[threadKey(p)]
	t.mu.Unlock()
	if !ok {
		return false
	}
	cl := p.Class
	cl.Topic = post.topic
	cl.Agency = t.routing[post.topic]
	cl.Explanation = withEvidence(cl.Explanation, "topic", otklik.Evidence{Term: termThreadTopic})
	return true
}

// withEvidence replaces the evidence of one field (the comment's own did not decide it).
func withEvidence(m map[string][]otklik.Evidence, field string, e otklik.Evidence) map[string][]otklik.Evidence {
	if m == nil {
		m = map[string][]otklik.Evidence{}
	}
	m[field] = []otklik.Evidence{e}
	return m
}
