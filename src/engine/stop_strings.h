#pragma once
// Stop strings over streamed text: generation ends where the output first contains one of
// them, and the stop string itself (and anything after it) is never shown. Text that could
// still turn out to be the start of a stop string is held back until the next piece decides.
//
//   StopMatcher m({"\n\n", "User:"});
//   std::string out = m.push(piece);   // safe to show now
//   if (m.stopped()) ...               // a stop string matched; out is the text before it
//   out += m.flush();                  // at the end: what was held back (when nothing matched)
#include <string>
#include <string_view>
#include <vector>

namespace hearth {

class StopMatcher {
public:
    explicit StopMatcher(std::vector<std::string> stops = {});

    // Appends `piece` and returns the text that can be shown now. After a match returns the
    // text before the stop string, and every later call returns "".
    std::string push(std::string_view piece);
    // The held-back text (call when generation ended for another reason).
    std::string flush();
    bool stopped() const { return stopped_; }
    const std::string& matched() const { return matched_; }

private:
    std::vector<std::string> stops_;  // empty strings removed
    std::string held_;
    bool stopped_ = false;
    std::string matched_;
};

}  // namespace hearth
