package phone

import (
	"testing"

	"parley/i18n"
)

// TestVoiceLanguages: every language Parley ships has Twilio's <Say> language, so no
// prompt of a new catalogue is read by an English voice.
func TestVoiceLanguages(t *testing.T) {
	for _, l := range i18n.Languages {
		if voiceLanguages[l] == "" {
			t.Errorf("no Twilio voice language for %q", l)
		}
	}
}
