// tests/registrar/corpus.h — reads the shared digest corpus
// (shared/corpus/digest/*.tsv): TAB-separated, one header row, no quoting.
//
//   for (const CorpusRow& row : read_corpus("vectors.tsv")) row.at("expected_ha1");
#ifndef SWITCHBOARD_TESTS_REGISTRAR_CORPUS_H_
#define SWITCHBOARD_TESTS_REGISTRAR_CORPUS_H_

#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace registrar::testing {

struct CorpusRow {
  std::map<std::string, std::string> fields;
  // The column's value; "" for a column the row does not have (trailing empty
  // fields).
  const std::string& at(const std::string& column) const {
    static const std::string kEmpty;
    auto it = fields.find(column);
    return it == fields.end() ? kEmpty : it->second;
  }
};

// gtest prints a row parameter by its id.
inline void PrintTo(const CorpusRow& row, std::ostream* os) { *os << row.at("id"); }

inline std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return out;
    start = tab + 1;
  }
}

// Every data row of SWITCHBOARD_DIGEST_DIR/`name`; empty when the file cannot
// be read (tests assert on the row count).
inline std::vector<CorpusRow> read_corpus(const std::string& name) {
  std::ifstream in(std::string(SWITCHBOARD_DIGEST_DIR) + "/" + name, std::ios::binary);
  std::vector<CorpusRow> rows;
  std::string line;
  std::vector<std::string> header;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> cells = split_tabs(line);
    if (header.empty()) {
      header = std::move(cells);
      continue;
    }
    CorpusRow row;
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i) row.fields[header[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

// A gtest-safe test name from a corpus id ("rfc7616-3.9.1-md5" → "rfc7616_3_9_1_md5").
inline std::string test_name(const std::string& id) {
  std::string out = id;
  for (char& c : out) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) c = '_';
  }
  return out;
}

}  // namespace registrar::testing

#endif  // SWITCHBOARD_TESTS_REGISTRAR_CORPUS_H_
