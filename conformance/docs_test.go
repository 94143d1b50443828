package conformance

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/objstore-go/objstore/internal/faultproxy"
)

// TestEveryRuleHasACase holds docs/SEMANTICS.md and the cases to each other:
// every rule ID defined there is carried by a case, and every case names a
// defined rule. A case is the conformance suite's, or, for a rule that only
// a network driver can show (R1), the fault matrix's (internal/faultproxy).
func TestEveryRuleHasACase(t *testing.T) {
	doc, err := os.ReadFile("../docs/SEMANTICS.md")
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, m := range regexp.MustCompile(`(?m)^- \*\*([A-Z][0-9]+):\*\*`).FindAllStringSubmatch(string(doc), -1) {
		rules = append(rules, m[1])
	}
	if len(rules) < 30 {
		t.Fatalf("found only %d rules in docs/SEMANTICS.md; has its format changed?", len(rules))
	}
	carried := map[string]bool{}
	for _, id := range slices.Concat(Cases(), faultproxy.Cases()) {
		rule := ruleOf(id)
		carried[rule] = true
		if !slices.Contains(rules, rule) {
			t.Errorf("case %s names rule %s, which docs/SEMANTICS.md does not define", id, rule)
		}
	}
	for _, r := range rules {
		if !carried[r] {
			t.Errorf("rule %s in docs/SEMANTICS.md has no conformance case", r)
		}
	}
}
