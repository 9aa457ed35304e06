// sip/params.h — `;name[=value]` parameter lists, kept as raw views.
//
// A URI, a Via, a name-addr and a challenge all carry parameter lists. They are
// stored unparsed (a view starting at the first ';') and walked on demand, so a
// message that nobody asks about costs nothing.
//
//   sip::ParamList p(";tag=98asjd8 ; lr", sip::ParamList::kHeader);
//   p.get("tag");   // optional("98asjd8")
//   p.has("lr");    // true, value ""
#ifndef SWITCHBOARD_SIP_PARAMS_H_
#define SWITCHBOARD_SIP_PARAMS_H_

#include <optional>
#include <string>
#include <string_view>

namespace sip {

struct Param {
  std::string_view name;
  std::string_view value;  // as written: a quoted value keeps its quotes; "" when absent
  bool has_value = false;
};

class ParamList {
 public:
  // Header parameters allow LWS around ';' and '=' and quoted values; URI
  // parameters allow neither (RFC 3261 §25.1 uri-parameter vs generic-param).
  enum Style { kHeader, kUri };

  ParamList() = default;
  ParamList(std::string_view raw, Style style) : raw_(raw), style_(style) {}

  // Value of the first parameter named `name` (case-insensitive), "" for a
  // parameter without value; nullopt when absent. Quoted values keep their quotes.
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  // Like get() but strips the quotes of a quoted value (escapes are kept).
  std::optional<std::string_view> get_unquoted(std::string_view name) const;

  std::string_view raw() const { return raw_; }
  bool empty() const { return raw_.empty(); }

  // Forward iteration over the parameters.
  class Iterator {
   public:
    Iterator(std::string_view rest, Style style) : rest_(rest), style_(style) { advance(); }
    const Param& operator*() const { return current_; }
    const Param* operator->() const { return &current_; }
    Iterator& operator++() { advance(); return *this; }
    bool operator==(const Iterator& o) const { return done_ == o.done_ && (done_ || rest_.data() == o.rest_.data()); }
    bool operator!=(const Iterator& o) const { return !(*this == o); }
   private:
    void advance();
    std::string_view rest_;
    Style style_;
    Param current_;
    bool done_ = false;
    friend class ParamList;
  };
  Iterator begin() const { return Iterator(raw_, style_); }
  Iterator end() const { Iterator it(std::string_view(), style_); return it; }

  // Checks the whole list: each element `;` token [ `=` value ]. `max_count`
  // bounds the number of parameters. On failure returns false and sets `why`.
  static bool validate(std::string_view raw, Style style, const char** why, size_t max_count = 64);

 private:
  std::string_view raw_;
  Style style_ = kHeader;
};

// Consumes one parameter list from the front of `s` (header style), checking
// each parameter, and returns its raw view; stops at the first character that
// does not continue the list. Returns false on a malformed or too long list.
bool take_header_params(std::string_view& s, std::string_view& raw, const char** why,
                        size_t max_count = 64);

}  // namespace sip

#endif  // SWITCHBOARD_SIP_PARAMS_H_
