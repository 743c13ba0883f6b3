# Developer targets. The README's two commands are scripts/demo.sh and scripts/test.sh.
.PHONY: zip test demo
zip:
	/usr/bin/python3 scripts/build_zip.py
test:
	bash scripts/test.sh
demo:
	bash scripts/demo.sh
