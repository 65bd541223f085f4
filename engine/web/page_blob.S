/* The control-room page, embedded in the binary at build time: nothing
 * is fetched from anywhere else. */
	.section .rodata
	.global tolk_page_html
	.global tolk_page_html_len
	.type tolk_page_html, @object
tolk_page_html:
	.incbin PAGE_HTML
	.byte 0
tolk_page_html_end:
	.balign 4
	.type tolk_page_html_len, @object
tolk_page_html_len:
	.int tolk_page_html_end - tolk_page_html - 1
	.section .note.GNU-stack,"",@progbits
