package crm

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// WhatsAppWindow is how long after a customer's last WhatsApp message a business may
// answer with free-form messages. After it WhatsApp takes only approved templates.
const WhatsAppWindow = 24 * time.Hour

// Limits of a template reply's variables.
const (
	MaxTemplateVariables = 20
	MaxTemplateValue     = 1000 // characters of one value
)

// MessageTemplate is an approved WhatsApp message template (a Twilio Content API
// ContentSid, HX and 32 hexadecimal digits) with the values of its variables, by their
// names in the template ("1": "Alice" for {{1}}).
type MessageTemplate struct {
	SID       string            `json:"sid"`
	Name      string            `json:"name,omitempty"`
	Variables map[string]string `json:"variables,omitempty"`
}

var (
	contentSIDRe  = regexp.MustCompile(`^HX[0-9a-fA-F]{32}$`)
	templateVarRe = regexp.MustCompile(`^[A-Za-z0-9_]{1,40}$`)
)

// Check returns invalid when the template's sid or variables are malformed or too large.
func (t *MessageTemplate) Check() error {
	if !contentSIDRe.MatchString(t.SID) {
		return Errorf(EINVALID, "template.sid must be a Twilio ContentSid: HX and 32 hexadecimal digits")
	}
	if utf8.RuneCountInString(t.Name) > 200 {
		return Errorf(EINVALID, "template.name must be at most 200 characters")
	}
	if len(t.Variables) > MaxTemplateVariables {
		return Errorf(EINVALID, "a template takes at most %d variables", MaxTemplateVariables)
	}
	for k, v := range t.Variables {
		if !templateVarRe.MatchString(k) {
			return Errorf(EINVALID, "template variable %q must be a name like 1 or first_name", CutRunes(k, 40))
		}
		if utf8.RuneCountInString(v) > MaxTemplateValue || !utf8.ValidString(v) {
			return Errorf(EINVALID, "template variable %s must be text of at most %d characters", k, MaxTemplateValue)
		}
	}
	return nil
}

// WhatsAppTemplate is an approved WhatsApp template of a phone inbox's Twilio account, as
// the composer offers it outside the WhatsApp window.
type WhatsAppTemplate struct {
	SID      string `json:"sid"`
	Name     string `json:"name"`
	Language string `json:"language"`
	Category string `json:"category,omitempty"`
	// Body is the template's text with its variables as {{1}}, {{2}} or {{name}}.
	Body string `json:"body"`
	// Variables are the names of Body's variables in order of first appearance, and
	// Samples the example values the template was approved with.
	Variables []string          `json:"variables"`
	Samples   map[string]string `json:"samples,omitempty"`
}

var templateVarUse = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]{1,40})\s*\}\}`)

// TemplateVariables returns the names of the variables of a template body in order of
// first appearance.
func TemplateVariables(body string) []string {
	names := []string{}
	seen := map[string]bool{}
	for _, m := range templateVarUse.FindAllStringSubmatch(body, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			names = append(names, m[1])
		}
	}
	return names
}

// Fill returns the template's body with each variable replaced by its value, as the
// customer reads it. Returns invalid when a variable has no value or values names one
// the template does not have.
func (t *WhatsAppTemplate) Fill(values map[string]string) (string, error) {
	want := map[string]bool{}
	for _, v := range t.Variables {
		want[v] = true
		if strings.TrimSpace(values[v]) == "" {
			return "", Errorf(EINVALID, "template %s needs a value for {{%s}}", t.Name, v)
		}
	}
	for k := range values {
		if !want[k] {
			return "", Errorf(EINVALID, "template %s has no variable {{%s}}", t.Name, CutRunes(k, 40))
		}
	}
	return templateVarUse.ReplaceAllStringFunc(t.Body, func(m string) string {
		return values[templateVarUse.FindStringSubmatch(m)[1]]
	}), nil
}
