// Shared by the quoting tests (real bash) and the E2B tests (fake sandbox running real bash).

/** Strings that would run a command, expand, split or glob if quoting failed anywhere. */
export function hostileArguments(markerPath: string): string[] {
	return [
		`'; touch ${markerPath}; '`,
		`$(touch ${markerPath})`,
		`\`touch ${markerPath}\``,
		`"; touch ${markerPath}; "`,
		`\\'; touch ${markerPath}; \\'`,
		`a && touch ${markerPath}`,
		`a | touch ${markerPath}`,
		`> ${markerPath}`,
		`--upload-pack=touch ${markerPath}`,
		'owner/repo;rm -rf ~',
		'$HOME ${HOME} $((1+1)) ${IFS}',
		'*',
		'~',
		'!!',
		"'",
		"''",
		"a'b'c",
		'"',
		'\\',
		'',
		' leading and trailing ',
		'line1\nline2\n',
		'tab\there',
		'ü 🎉 日本',
		'\x01\x1b[31m',
		'{"type":"http","url":"http://x/api?a=1&b=2"}',
	];
}
