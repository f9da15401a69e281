package email_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestBatchFiledConcurrentlyThreadsAndCheckpoints appends 50 mails before the fetcher
// starts, so that they are filed concurrently in batches: ten conversations of five
// mails one after the other, each reply referencing the mail right before it in the
// same batch (some by In-Reply-To, some by References alone), plus one unreadable mail. Every mail must be
// filed exactly once, every conversation must be one ticket, the unreadable mail must be
// quarantined, the checkpoint must reach the last UID and every mail must be \Seen.
func TestBatchFiledConcurrentlyThreadsAndCheckpoints(t *testing.T) {
	e := newEnv(t, nil)
	cfg := map[string]any{}
	for k, v := range e.inbox.Config {
		cfg[k] = v
	}
	cfg["mark_seen"] = true
	e.inbox.Config, e.inbox.Secrets = cfg, nil
	in, err := e.db.UpdateInbox(e.ctx, e.inbox)
	if err != nil {
		t.Fatal(err)
	}
	e.inbox = in

	const threads, perThread = 10, 5
	id := func(th, n int) string { return fmt.Sprintf("t%d.m%d@example.com", th, n) }
	uid := 0
	for th := range threads {
		for n := range perThread {
			var extra []string
			if n > 0 {
				var refs []string
				for k := range n {
					refs = append(refs, "<"+id(th, k)+">")
				}
				extra = append(extra, "References: "+strings.Join(refs, " "))
				if th%2 == 0 {
					extra = append(extra, "In-Reply-To: <"+id(th, n-1)+">")
				}
			}
			subject := fmt.Sprintf("Order %d", th)
			if n > 0 {
				subject = "Re: " + subject
			}
			e.appendMail(customerMail(fmt.Sprintf("c%d@example.com", th), id(th, n), subject, fmt.Sprintf("Mail %d", n), extra...))
			uid++
		}
		if th == 2 {
			e.appendMail("From: ann@example.com\r\nX-Long: " + strings.Repeat("a", 2<<20) + "\r\n\r\nbody\r\n")
			uid++
		}
	}

	e.run(e.ch)
	waitFor(t, "the checkpoint at the last uid", func() bool {
		cp, _ := e.db.MailCheckpoint(e.ctx, e.inbox.ID)
		return cp.LastUID == uint32(uid)
	})

	tickets := e.tickets()
	if len(tickets) != threads+1 {
		t.Fatalf("%d tickets, want %d", len(tickets), threads+1)
	}
	filed := map[string]int{}
	quarantined := 0
	for _, tk := range tickets {
		msgs := e.messages(tk.ID)
		if tk.Subject == "Unreadable email (quarantined)" {
			quarantined++
			if len(msgs) != 1 || len(tk.Tags) != 1 || tk.Tags[0] != "quarantine" {
				t.Errorf("quarantine ticket %+v has %d messages", tk, len(msgs))
			}
			continue
		}
		th := -1
		for _, m := range msgs {
			var mt, mn int
			if _, err := fmt.Sscanf(m.ExternalID, "t%d.m%d@example.com", &mt, &mn); err != nil {
				t.Fatalf("unexpected message %q in ticket %d", m.ExternalID, tk.ID)
			}
			if th == -1 {
				th = mt
			} else if mt != th {
				t.Errorf("ticket %d mixes conversations %d and %d", tk.ID, th, mt)
			}
			filed[m.ExternalID]++
		}
		if len(msgs) != perThread {
			t.Errorf("ticket %d (conversation %d) has %d messages, want %d", tk.ID, th, len(msgs), perThread)
		}
	}
	if quarantined != 1 {
		t.Errorf("%d quarantined tickets, want 1", quarantined)
	}
	for th := range threads {
		for n := range perThread {
			if filed[id(th, n)] != 1 {
				t.Errorf("%s filed %d times, want once", id(th, n), filed[id(th, n)])
			}
		}
	}

	// The flags are set after the checkpoint of the same batch; poll for them.
	host, port := hostPort(t, e.imap.Addr)
	client, err := imapclient.DialInsecure(fmt.Sprintf("%s:%d", host, int(port)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.Login(supportAddr, imapPass).Wait(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every mail marked seen", func() bool {
		if _, err := client.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatal(err)
		}
		data, err := client.Search(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		return len(data.AllSeqNums()) == 0
	})
}

// TestSameMessageIDInOneBatchFiledOnce appends the same mail twice before the fetcher
// starts: filed concurrently in one batch, it must still be one message.
func TestSameMessageIDInOneBatchFiledOnce(t *testing.T) {
	e := newEnv(t, nil)
	m := customerMail("ann@example.com", "twice@example.com", "Twice", "Hello")
	for i := range 3 {
		e.appendMail(m)
		e.appendMail(customerMail("bob@example.com", fmt.Sprintf("other.%d@example.com", i), "Other", "Hi"))
	}
	e.run(e.ch)
	waitFor(t, "the checkpoint at the last uid", func() bool {
		cp, _ := e.db.MailCheckpoint(e.ctx, e.inbox.ID)
		return cp.LastUID == 6
	})
	n := 0
	for _, tk := range e.tickets() {
		for _, msg := range e.messages(tk.ID) {
			if msg.ExternalID == "twice@example.com" {
				n++
			}
		}
	}
	if n != 1 {
		t.Fatalf("the mail was filed %d times, want once", n)
	}
}
