using Microsoft.Extensions.Time.Testing;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>Fake clocks for the queue's scripts, which read time in whole milliseconds.</summary>
public static class FakeClock
{
    /// <summary>
    /// Now, to the millisecond: what the scripts set to expire (PEXPIREAT, on Redis' own clock) is then in the future,
    /// and the times they store compare equal to the clock's.
    /// </summary>
    public static FakeTimeProvider Now() => new(DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
}
