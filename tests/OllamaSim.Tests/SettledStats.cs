namespace OllamaSim.Tests;

/// <summary>
/// A simulator's counters once every request it received has ended. The simulator counts a request's end after its
/// response is written (<c>OllamaWire.CountedAsync</c>: a client gone during the write is a failure), so a client can
/// read a whole answer a moment before it is counted, and counters read straight after the last response raced that
/// (<c>No_done_rate_one_truncates_the_response</c> once saw 1 failure of 2).
/// </summary>
internal static class SettledStats
{
    public static async Task<SimulatorStats> OfAsync(Func<SimulatorStats> read)
    {
        await Eventually.TrueAsync(() => read().InFlight == 0, "every request received to be counted as served or failed");
        return read();
    }
}
