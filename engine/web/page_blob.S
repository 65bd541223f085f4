/* A page, embedded in the binary at build time: nothing is fetched from
 * anywhere else. Built once per page, with PAGE_HTML (the file) and
 * PAGE_NAME (the symbol; PAGE_NAME_len holds its length). */
#define CAT(a, b) a##b
#define XCAT(a, b) CAT(a, b)
	.section .rodata
	.global PAGE_NAME
	.global XCAT(PAGE_NAME, _len)
	.type PAGE_NAME, @object
PAGE_NAME:
	.incbin PAGE_HTML
	.byte 0
XCAT(PAGE_NAME, _end):
	.balign 4
	.type XCAT(PAGE_NAME, _len), @object
XCAT(PAGE_NAME, _len):
	.int XCAT(PAGE_NAME, _end) - PAGE_NAME - 1
	.section .note.GNU-stack,"",@progbits
