#!/usr/bin/env bash
# Renderers the report tests use to look at the outputs as a person would (run by `make test`):
# headless Chromium for report.html, LibreOffice (Calc, Writer) to turn tables.xlsx and
# report.docx into PDF, and poppler-utils (pdftoppm, pdftotext) to read the PDFs.
# Installs from Debian's packages only what is missing; a second run does nothing.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v libreoffice >/dev/null 2>&1 || need+=(libreoffice-calc libreoffice-writer)
{ command -v pdftoppm >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; } || need+=(poppler-utils)
[ ${#need[@]} -eq 0 ] && exit 0
echo "setup-render: installing ${need[*]}" >&2
sudo_=""
[ "$(id -u)" -eq 0 ] || sudo_="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_ apt-get update -qq
$sudo_ apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
