package vk

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/SevereCloud/vksdk/v2/object"
	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
)

// authors resolves from_id to a name and reach using the profiles and groups of an
// extended response (fields=followers_count,members_count).
type authors struct {
	users  map[int]object.UsersUser
	groups map[int]object.GroupsGroup
}

func newAuthors(ext object.ExtendedResponse) authors {
	a := authors{users: map[int]object.UsersUser{}, groups: map[int]object.GroupsGroup{}}
	a.add(ext)
	return a
}

func (a authors) add(ext object.ExtendedResponse) {
	for _, u := range ext.Profiles {
		a.users[u.ID] = u
	}
	for _, g := range ext.Groups {
		a.groups[g.ID] = g
	}
}

func (a authors) author(id int) otklik.Author {
	if id == 0 { // a deleted comment has no author
		return otklik.Author{}
	}
	au := otklik.Author{ID: strconv.Itoa(id)}
	if id < 0 {
		if g, ok := a.groups[-id]; ok {
			au.Name = g.Name
			au.Followers = int64(g.MembersCount)
		}
	} else if u, ok := a.users[id]; ok {
		au.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
		au.Followers = int64(u.FollowersCount)
	}
	return au
}

func unix(sec int) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(sec), 0).UTC()
}

// postURL is the link a curator opens.
func postURL(owner, post int) string { return fmt.Sprintf("https://vk.com/wall%d_%d", owner, post) }

func commentURL(owner, post, comment, thread int) string {
	u := fmt.Sprintf("https://vk.com/wall%d_%d?reply=%d", owner, post, comment)
	if thread != 0 && thread != comment {
		u += fmt.Sprintf("&thread=%d", thread)
	}
	return u
}

// postPublication converts a wall post (wall.get, newsfeed.search, wall_post_new).
func postPublication(p object.WallWallpost, a authors, source string, fetched time.Time) otklik.Publication {
	// The author is from_id: for a community's own post that is the community (signed or
	// not), which is what the agencies' tracker counts.
	author := p.FromID
	text := p.Text
	for _, c := range p.CopyHistory { // a repost: keep what was reposted, it is what residents read
		if c.Text != "" {
			text = strings.TrimSpace(text + "\n\n" + c.Text)
		}
	}
	pub := otklik.Publication{
		Network:     otklik.VK,
		Owner:       strconv.Itoa(p.OwnerID),
		PostID:      strconv.Itoa(p.ID),
		Kind:        otklik.Post,
		URL:         postURL(p.OwnerID, p.ID),
		Source:      source,
		Author:      a.author(author),
		Text:        text,
		Attachments: postAttachments(p.Attachments),
		Engagement: otklik.Engagement{
			Likes: int64(p.Likes.Count), Comments: int64(p.Comments.Count),
			Reposts: int64(p.Reposts.Count), Views: int64(p.Views.Count),
		},
		PublishedAt: unix(p.Date),
		EditedAt:    unix(p.Edited),
		FetchedAt:   fetched,
		Deleted:     bool(p.IsDeleted),
	}
	pub.ID = otklik.DocID(otklik.VK, pub.Owner, pub.PostID, "")
	return pub
}

// commentPublication converts a comment (wall.getComments, wall_reply_new). threadRoot is
// the top-level comment of the thread the comment is in (0 for a top-level comment).
func commentPublication(c object.WallWallComment, owner, post, threadRoot int, a authors, source string, fetched time.Time) otklik.Publication {
	pub := otklik.Publication{
		Network:     otklik.VK,
		Owner:       strconv.Itoa(owner),
		PostID:      strconv.Itoa(c.ID),
		ParentID:    strconv.Itoa(post),
		Kind:        otklik.Comment,
		URL:         commentURL(owner, post, c.ID, threadRoot),
		Source:      source,
		Author:      a.author(c.FromID),
		Text:        c.Text,
		Attachments: commentAttachments(c.Attachments),
		Engagement:  otklik.Engagement{Likes: int64(c.Likes.Count), Comments: int64(c.Thread.Count)},
		PublishedAt: unix(c.Date),
		FetchedAt:   fetched,
		Deleted:     bool(c.Deleted),
	}
	switch {
	case c.ReplyToComment != 0:
		pub.ReplyTo = strconv.Itoa(c.ReplyToComment)
	case threadRoot != 0 && threadRoot != c.ID:
		pub.ReplyTo = strconv.Itoa(threadRoot)
	}
	pub.ID = otklik.DocID(otklik.VK, pub.Owner, pub.ParentID, pub.PostID)
	return pub
}

func attachment(typ string, photo object.PhotosPhoto, video object.VideoVideo, doc object.DocsDoc, link object.BaseLink) otklik.Attachment {
	at := otklik.Attachment{Type: typ}
	switch typ {
	case "photo":
		at.URL = photo.MaxSize().URL
		if at.URL == "" && photo.ID != 0 {
			at.URL = fmt.Sprintf("https://vk.com/photo%d_%d", photo.OwnerID, photo.ID)
		}
	case "video":
		at.URL = fmt.Sprintf("https://vk.com/video%d_%d", video.OwnerID, video.ID)
		at.Title = video.Title
	case "doc":
		at.URL, at.Title = doc.URL, doc.Title
	case "link":
		at.URL, at.Title = link.URL, link.Title
	}
	return at
}

func postAttachments(as []object.WallWallpostAttachment) []otklik.Attachment {
	var out []otklik.Attachment
	for _, a := range as {
		out = append(out, attachment(a.Type, a.Photo, a.Video, a.Doc, a.Link))
	}
	return out
}

func commentAttachments(as []object.WallCommentAttachment) []otklik.Attachment {
	var out []otklik.Attachment
	for _, a := range as {
		out = append(out, attachment(a.Type, a.Photo, a.Video, a.Doc, a.Link))
	}
	return out
}

// wallGetResponse is wall.get with extended=1.
type wallGetResponse struct {
	Count int                   `json:"count"`
	Items []object.WallWallpost `json:"items"`
	object.ExtendedResponse
}

// commentsResponse is wall.getComments with extended=1.
type commentsResponse struct {
	Count             int                      `json:"count"`
	CurrentLevelCount int                      `json:"current_level_count"`
	Items             []object.WallWallComment `json:"items"`
	object.ExtendedResponse
}

// searchResponse is newsfeed.search with extended=1.
type searchResponse struct {
	Items      []object.WallWallpost `json:"items"`
	Count      int                   `json:"count"`
	TotalCount int                   `json:"total_count"`
	NextFrom   string                `json:"next_from"`
	object.ExtendedResponse
}

func parseWallGet(raw []byte) (wallGetResponse, error) {
	var r wallGetResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("%w: wall.get: %v", collectors.ErrMalformed, err)
	}
	return r, nil
}

func parseComments(raw []byte) (commentsResponse, error) {
	var r commentsResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("%w: wall.getComments: %v", collectors.ErrMalformed, err)
	}
	return r, nil
}

func parseSearch(raw []byte) (searchResponse, error) {
	var r searchResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("%w: newsfeed.search: %v", collectors.ErrMalformed, err)
	}
	return r, nil
}

// parseExecute splits execute's response, an array with one element per API call (false
// where the call failed), and pairs each failed call with its execute_errors entry.
func parseExecute(raw []byte, n int) (results []json.RawMessage, failed map[int]int, err error) {
	if err := json.Unmarshal(raw, &results); err != nil {
		return nil, nil, fmt.Errorf("%w: execute: %v", collectors.ErrMalformed, err)
	}
	if len(results) != n {
		return nil, nil, fmt.Errorf("%w: execute returned %d results for %d calls", collectors.ErrMalformed, len(results), n)
	}
	failed = map[int]int{}
	k := 0
	for i, r := range results {
		if s := strings.TrimSpace(string(r)); s == "false" || s == "null" {
			failed[i] = k
			k++
		}
	}
	return results, failed, nil
}
