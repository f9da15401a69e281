package email

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// TestHeaderFixer puts the blank line after a part header only where it is missing,
// whatever the sizes of the reads and of the lines.
func TestHeaderFixer(t *testing.T) {
	long := strings.Repeat("x", 40<<10)
	for _, tc := range []struct{ name, in, want string }{
		{"well formed", "--b\r\nContent-Type: text/plain\r\n\r\nHi\r\n--b--\r\n",
			"--b\r\nContent-Type: text/plain\r\n\r\nHi\r\n--b--\r\n"},
		{"missing blank line", "--b\r\nContent-Type: text/plain\r\nHello, friend\r\n--b--\r\n",
			"--b\r\nContent-Type: text/plain\r\n\r\nHello, friend\r\n--b--\r\n"},
		{"folded header", "--b\r\nContent-Type: text/plain;\r\n charset=utf-8\r\nHi\r\n--b--\r\n",
			"--b\r\nContent-Type: text/plain;\r\n charset=utf-8\r\n\r\nHi\r\n--b--\r\n"},
		{"preamble and epilogue untouched", "preamble text\r\n--b\r\n\r\nbody\r\n--b--\r\nepilogue text\r\n",
			"preamble text\r\n--b\r\n\r\nbody\r\n--b--\r\nepilogue text\r\n"},
		{"long body line", "--b\r\nContent-Type: text/plain\r\n" + long + "\r\n--b--",
			"--b\r\nContent-Type: text/plain\r\n\r\n" + long + "\r\n--b--"},
		{"long header line", "--b\r\nX-Long: " + long + "\r\n\r\nHi\r\n--b--",
			"--b\r\nX-Long: " + long + "\r\n\r\nHi\r\n--b--"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				got, err := io.ReadAll(iotest.OneByteReader(newHeaderFixer(r, "b")))
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != tc.want {
					t.Fatalf("got %q\nwant %q", cut(string(got)), cut(tc.want))
				}
			}
		})
	}
}

func cut(s string) string {
	if len(s) > 200 {
		return s[:100] + "..." + s[len(s)-100:]
	}
	return s
}

// TestMessageTime takes the Date header only when it is plausible.
func TestMessageTime(t *testing.T) {
	now := mustTime(t, "2025-03-01T12:00:00Z")
	for _, tc := range []struct{ date, received, want string }{
		{"2025-03-01T10:00:00Z", "2025-03-01T11:59:00Z", "2025-03-01T10:00:00Z"},
		{"2025-03-01T12:03:00Z", "2025-03-01T11:59:00Z", "2025-03-01T12:03:00Z"}, // a sender's clock a little fast
		{"2025-03-01T12:30:00Z", "2025-03-01T11:59:00Z", "2025-03-01T11:59:00Z"}, // in the future
		{"2025-02-20T12:00:00Z", "2025-03-01T11:59:00Z", "2025-03-01T11:59:00Z"}, // older than three days
		{"", "2025-03-01T11:59:00Z", "2025-03-01T11:59:00Z"},
		{"2025-03-01T09:00:00Z", "", "2025-03-01T09:00:00Z"},
		{"2025-02-01T09:00:00Z", "", "2025-03-01T12:00:00Z"},
	} {
		got := messageTime(mustTime(t, tc.date), mustTime(t, tc.received), now)
		if want := mustTime(t, tc.want); !got.Equal(want) {
			t.Errorf("date %s received %s: %s, want %s", tc.date, tc.received, got, want)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	if s == "" {
		return time.Time{}
	}
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
