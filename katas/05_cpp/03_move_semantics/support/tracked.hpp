// tracked.hpp: element types that count what is done to them (instructor-owned: do not edit).
#pragma once
#include <stdexcept>

struct Counts {
    long copies = 0;        // copy constructions
    long moves = 0;         // move constructions
    long assigns = 0;       // copy or move assignments
    long live = 0;          // constructed and not yet destroyed
    long bad = 0;           // uses of a destroyed or moved-from object where a value was needed
};
inline Counts counts;

// A value with a noexcept move: std::vector (and your Vec) may move it when growing.
struct Tracked {
    int value;
    explicit Tracked(int v) noexcept : value(v) { counts.live++; }
    Tracked(const Tracked &o) noexcept : value(o.value) {
        counts.copies++;
        counts.live++;
        if (o.value < 0) counts.bad++;
    }
    Tracked(Tracked &&o) noexcept : value(o.value) {
        counts.moves++;
        counts.live++;
        if (o.value < 0) counts.bad++;
        o.value = -1;                                 // moved-from
    }
    Tracked &operator=(const Tracked &o) noexcept { counts.assigns++; value = o.value; return *this; }
    Tracked &operator=(Tracked &&o) noexcept { counts.assigns++; value = o.value; o.value = -1; return *this; }
    ~Tracked() { counts.live--; value = -2; }         // destroyed
};

// The same, but its move constructor may throw (it is not noexcept): growing a vector of these must
// COPY the old elements, or an exception halfway would leave the vector with elements moved away.
struct MayThrow {
    int value;
    explicit MayThrow(int v) noexcept : value(v) { counts.live++; }
    MayThrow(const MayThrow &o) : value(o.value) { counts.copies++; counts.live++; }
    MayThrow(MayThrow &&o) : value(o.value) {        // not noexcept
        counts.moves++;
        counts.live++;
        o.value = -1;
    }
    MayThrow &operator=(const MayThrow &o) { counts.assigns++; value = o.value; return *this; }
    ~MayThrow() { counts.live--; value = -2; }
};
