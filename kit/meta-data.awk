# Reads an OpenStack config drive's meta_data.json (busybox awk) and prints what
# kit/cloud-init.sh needs, one item a line:
#
#   uuid <instance uuid>
#   hostname <hostname>
#   name <server name>
#   key <one authorized_keys line>     (every line of every public_keys value)
#
# A small JSON tokenizer rather than sed patterns: a value may hold any text
# (a server's metadata, a key with its escaped "\n"), and only a tokenizer
# knows which "uuid" is the top-level one. Strings are unescaped (\uXXXX only
# for ASCII); a value with a newline prints one line per piece.
BEGIN { RS = "\001"; depth = 0 }
{
  s = $0; n = length(s); i = 1; expect_key[0] = 1
  while (i <= n) {
    c = substr(s, i, 1)
    if (c == "{") { depth++; in_obj[depth] = 1; expect_key[depth] = 1; i++; continue }
    if (c == "[") { depth++; in_obj[depth] = 0; i++; continue }
    if (c == "}" || c == "]") { depth--; i++; continue }
    if (c == ",") { if (in_obj[depth]) expect_key[depth] = 1; i++; continue }
    if (c == ":") { expect_key[depth] = 0; i++; continue }
    if (c == "\"") {
      str = ""; i++
      while (i <= n) {
        c = substr(s, i, 1)
        if (c == "\"") { i++; break }
        if (c == "\\") {
          e = substr(s, i + 1, 1); i += 2
          if (e == "n") str = str "\n"
          else if (e == "t") str = str "\t"
          else if (e == "r" || e == "b" || e == "f") str = str ""
          else if (e == "u") { str = str unicode(substr(s, i, 4)); i += 4 }
          else str = str e
          continue
        }
        str = str c; i++
      }
      if (in_obj[depth] && expect_key[depth]) { key[depth] = str; continue }
      value(str)
      continue
    }
    i++   # whitespace, numbers, true/false/null: nothing we need
  }
}
function value(v,   parts, m, j) {
  if (depth == 1 && (key[1] == "uuid" || key[1] == "hostname" || key[1] == "name")) {
    gsub(/\n/, " ", v); print key[1] " " v
  } else if (depth == 2 && key[1] == "public_keys") {
    m = split(v, parts, "\n")
    for (j = 1; j <= m; j++) if (parts[j] ~ /[^ \t]/) print "key " parts[j]
  }
}
function unicode(hex,   d, k, v) {
  v = 0
  for (k = 1; k <= 4; k++) {
    d = index("0123456789abcdef", tolower(substr(hex, k, 1)))
    if (d == 0) return "?"
    v = v * 16 + d - 1
  }
  return (v >= 32 && v < 127) ? sprintf("%c", v) : "?"
}
