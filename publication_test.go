package otklik

import (
	"errors"
	"strings"
	"testing"
)

func TestDocID(t *testing.T) {
	for _, tc := range []struct {
		net                  Network
		owner, post, comment string
		want                 string
	}{
		{VK, "-123", "456", "", "vk:-123_456"},
		{VK, "-123", "456", "789", "vk:-123_456_789"},
		{OK, "5555", "777", "", "ok:5555_777"},
		{Instagram, "", "1789", "", "instagram:_1789"},
	} {
		if got := DocID(tc.net, tc.owner, tc.post, tc.comment); got != tc.want {
			t.Errorf("DocID(%s,%s,%s,%s) = %s, want %s", tc.net, tc.owner, tc.post, tc.comment, got, tc.want)
		}
	}
	// Parts that are not plain are hashed, stably, into a URL- and _id-safe id.
	a := DocID(Facebook, "page/1", "post 2", "")
	if a != DocID(Facebook, "page/1", "post 2", "") || !strings.HasPrefix(a, "facebook:h") || strings.ContainsAny(a, "/ ") {
		t.Errorf("hashed id %q", a)
	}
	// No two different publications share an id: the separator cannot be forged.
	if DocID(VK, "1_2", "3", "") == DocID(VK, "1", "2_3", "") {
		t.Error("ids collide across owner/post boundaries")
	}
	if DocID(VK, "1", "2", "") == DocID(OK, "1", "2", "") {
		t.Error("ids collide across networks")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		p      Publication
		errHas string
		id     string
	}{
		{Publication{Network: VK, Owner: "-1", PostID: "2", Text: "т"}, "", "vk:-1_2"},
		{Publication{Network: VK, Owner: "-1", PostID: "3", ParentID: "2", Kind: Comment}, "", "vk:-1_2_3"},
		{Publication{Network: VK, Owner: "-1", PostID: "2", ID: "given"}, "", "given"},
		{Publication{Network: "tiktok", PostID: "1"}, "unknown network", ""},
		{Publication{Network: VK}, "post_id is empty", ""},
		{Publication{Network: VK, PostID: "3", Kind: Comment}, "no parent_id", ""},
		{Publication{Network: VK, PostID: "3", Kind: "story"}, "unknown kind", ""},
	} {
		err := tc.p.Validate()
		if tc.errHas == "" {
			if err != nil || tc.p.ID != tc.id {
				t.Errorf("%+v: err %v id %q, want id %q", tc.p, err, tc.p.ID, tc.id)
			}
			continue
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%+v: err %v, want %q", tc.p, err, tc.errHas)
		}
	}
}

func TestThreadID(t *testing.T) {
	post := Publication{Network: VK, Owner: "-123", PostID: "456", Kind: Post}
	comment := Publication{Network: VK, Owner: "-123", PostID: "789", ParentID: "456", Kind: Comment}
	other := Publication{Network: VK, Owner: "-123", PostID: "457", Kind: Post}
	okPost := Publication{Network: OK, Owner: "-123", PostID: "456", Kind: Post}
	for _, p := range []*Publication{&post, &comment, &other, &okPost} {
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		a, b *Publication
		same bool
	}{
		{"a post is its own thread", &post, &post, true},
		{"a comment is in its post's thread", &comment, &post, true},
		{"another post", &other, &post, false},
		{"the same ids in another network", &okPost, &post, false},
	} {
		if got := tc.a.ThreadID() == tc.b.ThreadID(); got != tc.same {
			t.Errorf("%s: ThreadID %q vs %q, same = %v", tc.name, tc.a.ThreadID(), tc.b.ThreadID(), got)
		}
	}
	if post.ThreadID() != post.ID {
		t.Errorf("a post's thread id %q is not its id %q", post.ThreadID(), post.ID)
	}
}
