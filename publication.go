package otklik

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Network is a social network a publication comes from.
type Network string

// The networks named by the regulation, and the demo replay source.
const (
	VK        Network = "vk"
	OK        Network = "ok"
	Facebook  Network = "facebook"
	Instagram Network = "instagram"
	// Demo marks publications replayed from a JSON Lines file (the bundled demo corpus or
	// any file an operator points the replay collector at).
	Demo Network = "demo"
)

// Valid reports whether n is one of the known networks.
func (n Network) Valid() bool {
	switch n {
	case VK, OK, Facebook, Instagram, Demo:
		return true
	}
	return false
}

// Kind tells a post from a comment.
type Kind string

// Publication kinds.
const (
	Post    Kind = "post"
	Comment Kind = "comment"
)

// Priority is the importance category of a publication (spec/labels.md).
type Priority string

// Priorities, from the most to the least urgent.
const (
	Critical Priority = "critical"
	High     Priority = "high"
	Medium   Priority = "medium"
	Low      Priority = "low"
)

// DropReason is a point-16 reason not to process a publication (spec/labels.md).
type DropReason string

// Point-16 drop reasons.
const (
	Obscene DropReason = "obscene"
	Insult  DropReason = "insult"
	Threat  DropReason = "threat"
)

// Attachment is a photo, video, link or document attached to a publication.
type Attachment struct {
	// Type is the network's attachment type: photo, video, link, doc, audio, poll, …
	Type string `json:"type"`
	// URL points at the attachment where the network gives one.
	URL string `json:"url,omitempty"`
	// Title is a link's title or a document's name.
	Title string `json:"title,omitempty"`
}

// Engagement counts reactions to a publication at the time it was fetched.
type Engagement struct {
	Likes    int64 `json:"likes"`
	Comments int64 `json:"comments"`
	Reposts  int64 `json:"reposts"`
	Views    int64 `json:"views"`
}

// Author is who wrote a publication.
type Author struct {
	// ID is the author's id in the network (negative for VK communities).
	ID string `json:"id,omitempty"`
	// Name is the display name.
	Name string `json:"name,omitempty"`
	// Followers is the author's reach: friends plus followers, or members of a community.
	Followers int64 `json:"followers"`
}

// Evidence is one matched term that contributed to a classification decision.
type Evidence struct {
	// Term is the matched stem, word or phrase as it stands in the dictionary.
	Term string `json:"term"`
	// Text is the fragment of the publication it matched, where it differs from Term.
	Text string `json:"text,omitempty"`
	// Weight is how much it contributed.
	Weight float64 `json:"weight,omitempty"`
}

// Classification is what the classifier decided, and why.
type Classification struct {
	// Topic is one of the topic ids of spec/labels.md.
	Topic string `json:"topic"`
	// Location is a municipality from spec/municipalities.txt, or "" when the text names
	// no place in the region.
	Location string `json:"location"`
	// Priority is the importance category.
	Priority Priority `json:"priority"`
	// Drop lists the point-16 reasons; empty when the publication is to be processed.
	Drop []DropReason `json:"drop"`
	// Agency is the body the topic routes to by default ("" for the curator to decide).
	Agency string `json:"agency"`
	// Explanation lists, per field (topic, location, priority, obscene, insult, threat),
	// the terms that decided it.
	Explanation map[string][]Evidence `json:"explanation,omitempty"`
	// Model names the classifier and its data version, for audits.
	Model string `json:"model,omitempty"`
	// ClassifiedAt is when the decision was made.
	ClassifiedAt time.Time `json:"classified_at"`
}

// Dropped reports whether point 16 applies: the publication is kept but not processed.
func (c *Classification) Dropped() bool { return c != nil && len(c.Drop) > 0 }

// Publication is one residents' post or comment. It is the single record type that
// collectors emit, the classifier annotates, the bus carries and the index stores.
type Publication struct {
	// ID is the stable document id, see DocID. Collectors set it; every write keyed by it is
	// idempotent.
	ID string `json:"id"`
	// Network is where the publication was made; the answer is published there too.
	Network Network `json:"network"`
	// Owner is the wall, group or page the publication belongs to (VK owner_id, OK group id,
	// Facebook page id, Instagram user id).
	Owner string `json:"owner,omitempty"`
	// PostID is the network's id of the post (for a comment: the id of the comment).
	PostID string `json:"post_id"`
	// ParentID is, for a comment, the id of the post it is under.
	ParentID string `json:"parent_id,omitempty"`
	// ReplyTo is, for a comment in a thread, the id of the comment it answers.
	ReplyTo string `json:"reply_to,omitempty"`
	// Kind is post or comment.
	Kind Kind `json:"kind"`
	// URL is the link a curator opens.
	URL string `json:"url,omitempty"`
	// Source names the configured source that found it (a community, a search rule, a file).
	Source string `json:"source,omitempty"`
	// Author is who wrote it.
	Author Author `json:"author"`
	// Text is the text as published.
	Text string `json:"text"`
	// Attachments lists what is attached.
	Attachments []Attachment `json:"attachments,omitempty"`
	// Engagement counts reactions at fetch time.
	Engagement Engagement `json:"engagement"`
	// PublishedAt is when the author published it.
	PublishedAt time.Time `json:"published_at"`
	// EditedAt is when it was last edited, if the network says so.
	EditedAt time.Time `json:"edited_at,omitzero"`
	// FetchedAt is when a collector fetched it: the moment of detection from which the
	// regulation's deadlines run.
	FetchedAt time.Time `json:"fetched_at"`
	// Deleted is set when the network reports the publication deleted; it is kept, marked.
	Deleted bool `json:"deleted,omitempty"`
	// AgencyAccount is set when the publication was made by an agency's own account
	// (point 4 of the regulation): it is counted, not answered.
	AgencyAccount string `json:"agency_account,omitempty"`
	// Class is the classifier's decision; nil until classified.
	Class *Classification `json:"class,omitempty"`
}

// DocID derives the stable document id of a publication from its network, owner, post id
// and, for a comment, comment id. The same publication fetched twice, by any collector,
// gets the same id. The id is readable ("vk:-123_456" or "vk:-123_456_789") when its parts
// are plain, and a hash otherwise, so it is always safe as an Elasticsearch _id and a URL
// path segment.
func DocID(network Network, owner, post, comment string) string {
	parts := []string{owner, post}
	if comment != "" {
		parts = append(parts, comment)
	}
	plain := true
	for _, p := range parts {
		if !plainPart(p) {
			plain = false
			break
		}
	}
	body := strings.Join(parts, "_")
	if plain && len(body) <= 200 {
		return string(network) + ":" + body
	}
	sum := sha256.Sum256([]byte(string(network) + "\x00" + strings.Join(parts, "\x00")))
	return string(network) + ":h" + hex.EncodeToString(sum[:16])
}

func plainPart(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

// ThreadID is the id of the thread p belongs to: the DocID of the post, for the post
// itself and for every comment under it. Bus messages are keyed by it, so that a post and
// its comments share a partition, in order, and reach the same classifier process (which
// remembers the post's topic for comments that name none: see classifier.Threads).
func (p *Publication) ThreadID() string {
	if p.Kind == Comment && p.ParentID != "" {
		return DocID(p.Network, p.Owner, p.ParentID, "")
	}
	return DocID(p.Network, p.Owner, p.PostID, "")
}

// ErrInvalid is wrapped by every validation error of a publication.
var ErrInvalid = errors.New("invalid publication")

// Validate checks what every stage relies on: a known network, an id, a post id, text or
// attachments, a kind. It fills ID from DocID when empty.
func (p *Publication) Validate() error {
	if !p.Network.Valid() {
		return fmt.Errorf("%w: unknown network %q", ErrInvalid, p.Network)
	}
	if p.PostID == "" {
		return fmt.Errorf("%w: post_id is empty", ErrInvalid)
	}
	switch p.Kind {
	case Post, Comment:
	case "":
		p.Kind = Post
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrInvalid, p.Kind)
	}
	if p.Kind == Comment && p.ParentID == "" {
		return fmt.Errorf("%w: comment %s has no parent_id", ErrInvalid, p.PostID)
	}
	if p.ID == "" {
		if p.Kind == Comment {
			p.ID = DocID(p.Network, p.Owner, p.ParentID, p.PostID)
		} else {
			p.ID = DocID(p.Network, p.Owner, p.PostID, "")
		}
	}
	return nil
}
