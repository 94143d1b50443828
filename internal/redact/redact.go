// Package redact removes secrets from text: what errors and log records
// print passes through it.
package redact

import "regexp"

var secretPatterns = []*regexp.Regexp{
	// Query parameters that carry signatures or tokens: SAS sig, SigV4
	// presigned URLs, security tokens.
	regexp.MustCompile(`(?i)((?:^|[?&;\s"'])(?:sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-ms-encryption-key|skoid|sktid|skt|ske|sks|skv)=)[^&\s"';]*`),
	// Connection-string fields.
	regexp.MustCompile(`(?i)((?:AccountKey|SharedAccessSignature|SharedAccessKey)=)[^;\s"']*`),
	// Authorization headers and bearer tokens.
	regexp.MustCompile(`(?i)((?:authorization|x-amz-security-token|x-ms-copy-source-authorization)\s*[:=]\s*)[^\r\n"']*`),
	regexp.MustCompile(`(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*`),
	// Userinfo in URLs.
	regexp.MustCompile(`(://[^/@\s:]*:)[^/@\s]*(@)`),
}

// String returns s with signatures, account keys, tokens, authorization
// headers and URL passwords replaced by "REDACTED". Errors and log records
// pass through it.
func String(s string) string {
	for _, re := range secretPatterns {
		if !re.MatchString(s) {
			continue
		}
		if re.NumSubexp() == 2 {
			s = re.ReplaceAllString(s, "${1}REDACTED${2}")
		} else {
			s = re.ReplaceAllString(s, "${1}REDACTED")
		}
	}
	return s
}
