package chat

import (
	"context"
	"fmt"
	"strings"

	"parley/channels"
	"parley/crm"
)

var _ channels.InboxSetup = (*Channel)(nil)

// Snippet is code for the shop's server in one language: it signs a logged-in
// shopper's email for the widget with the inbox's identity secret, read from the
// environment variable PARLEY_IDENTITY_SECRET, and prints data-identity-hash.
type Snippet struct {
	Language string `json:"language"`
	Code     string `json:"code"`
}

// IdentitySnippets are the signing snippets in Node, PHP, Python, Ruby and Go. Each
// prints hex(HMAC-SHA256(secret, lower-cased email)) for the address in the variable
// email, which the shop sets from its session.
var IdentitySnippets = []Snippet{
	{"Node.js", `const crypto = require('crypto');
const email = 'alice@example.com'; // the signed-in shopper's email
const hash = crypto.createHmac('sha256', process.env.PARLEY_IDENTITY_SECRET)
  .update(email.toLowerCase()).digest('hex');
console.log(hash);`},
	{"PHP", `<?php
$email = 'alice@example.com'; // the signed-in shopper's email
$hash = hash_hmac('sha256', strtolower($email), getenv('PARLEY_IDENTITY_SECRET'));
echo $hash, "\n";`},
	{"Python", `import hashlib, hmac, os
email = 'alice@example.com'  # the signed-in shopper's email
secret = os.environ['PARLEY_IDENTITY_SECRET']
hash = hmac.new(secret.encode(), email.lower().encode(), hashlib.sha256).hexdigest()
print(hash)`},
	{"Ruby", `require 'openssl'
email = 'alice@example.com' # the signed-in shopper's email
hash = OpenSSL::HMAC.hexdigest('SHA256', ENV.fetch('PARLEY_IDENTITY_SECRET'), email.downcase)
puts hash`},
	{"Go", `package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

func main() {
	email := "alice@example.com" // the signed-in shopper's email
	mac := hmac.New(sha256.New, []byte(os.Getenv("PARLEY_IDENTITY_SECRET")))
	mac.Write([]byte(strings.ToLower(email)))
	fmt.Println(hex.EncodeToString(mac.Sum(nil)))
}`},
}

// SetupInbox answers what the shop pastes into its pages: the widget's script tag
// ("embed"), the tag for a signed-in shopper ("embed_signed_in") and the identity-signing
// snippets. base is the channel's public URL, else publicURL.
func (ch *Channel) SetupInbox(ctx context.Context, in *crm.Inbox, publicURL string) (any, error) {
	base := strings.TrimRight(publicURL, "/")
	if p := ch.opt.PublicURL; p != nil {
		base = p.Scheme + "://" + p.Host
	}
	script := fmt.Sprintf(`<script src="%s/widget.js" data-inbox="%d" async></script>`, base, in.ID)
	signed := fmt.Sprintf(`<script src="%s/widget.js" data-inbox="%d"
        data-identity-email="SHOPPER_EMAIL" data-identity-hash="HASH_FROM_YOUR_SERVER"
        data-name="SHOPPER_NAME" async></script>`, base, in.ID)
	return map[string]any{"embed": script, "embed_signed_in": signed, "snippets": IdentitySnippets}, nil
}
