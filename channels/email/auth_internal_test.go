package email

import "testing"

func TestSenderCheckFailure(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		trusted string
		want    string
	}{
		{"none", nil, "", ""},
		{"dmarc fail", []string{"mx.test; dmarc=fail header.from=x.test"}, "", "DMARC"},
		{"dmarc pass beats spf fail", []string{"mx.test; spf=fail; dkim=none; dmarc=pass"}, "", ""},
		{"spf and dkim fail", []string{"mx.test; spf=fail; dkim=fail"}, "", "SPF and DKIM"},
		{"spf fail without dkim", []string{"mx.test; spf=fail smtp.mailfrom=x.test"}, "", "SPF and DKIM"},
		{"spf fail, one dkim passes", []string{"mx.test; spf=fail; dkim=fail header.d=a; dkim=pass header.d=b"}, "", ""},
		{"spf softfail", []string{"mx.test; spf=softfail; dkim=none"}, "", ""},
		{"dmarc none falls back", []string{"mx.test; dmarc=none; spf=fail; dkim=none"}, "", "SPF and DKIM"},
		{"dmarc temperror with dkim temperror", []string{"mx.test; dmarc=temperror; spf=fail; dkim=temperror"}, "", ""},
		{"no result", []string{"mx.test 1; none"}, "", ""},
		{"comments and versions", []string{"mx.test (the MX) 1; dmarc/1 (policy) = (x) FAIL (p=reject) header.from=x.test"}, "", "DMARC"},
		{"quoted semicolon", []string{`mx.test; dkim=pass reason="a;dmarc=fail"`}, "", ""},
		{"topmost only", []string{"mx.test; dmarc=pass", "mx.test; dmarc=fail"}, "", ""},
		{"unparsable topmost is no verdict", []string{"", "mx.test; dmarc=fail"}, "", ""},
		{"trusted below an untrusted pass", []string{"relay.test; dmarc=pass", "MX.test; dmarc=fail"}, "mx.test", "DMARC"},
		{"trusted absent", []string{"other.test; dmarc=fail"}, "mx.test", ""},
		{"topmost trusted wins", []string{"mx.test; dmarc=pass", "mx.test; dmarc=fail"}, "mx.test", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := senderCheckFailure(tt.headers, tt.trusted); got != tt.want {
				t.Errorf("senderCheckFailure(%q, %q) = %q, want %q", tt.headers, tt.trusted, got, tt.want)
			}
		})
	}
}

func FuzzParseAuthResults(f *testing.F) {
	f.Add("mx.test (c) 1; dmarc=fail (p=reject) header.from=x; spf=\"(\\\"\"")
	f.Fuzz(func(t *testing.T, v string) {
		parseAuthResults(v) // must not panic
	})
}

func BenchmarkSenderCheckFailure(b *testing.B) {
	h := []string{"mx.google.com; dkim=pass header.i=@example.com header.s=s1 header.b=Xy12abCd; " +
		"spf=pass (google.com: domain of a@example.com designates 192.0.2.10 as permitted sender) smtp.mailfrom=a@example.com; " +
		"dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com"}
	for b.Loop() {
		senderCheckFailure(h, "mx.google.com")
	}
}
