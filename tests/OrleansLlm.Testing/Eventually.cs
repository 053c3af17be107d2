using System.Diagnostics;

namespace OrleansLlm.Testing;

/// <summary>Polls a condition until it holds or a deadline passes, then fails naming what it waited for.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, Func<Task<string>>? describe = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(20);
        while (!await condition())
        {
            if (clock.Elapsed > limit)
            {
                var state = describe is null ? string.Empty : $" (last seen: {await describe()})";
                throw new TimeoutException($"Timed out after {limit.TotalSeconds:F0}s waiting for {what}{state}");
            }

            await Task.Delay(delay);
            delay = TimeSpan.FromMilliseconds(Math.Min(250, delay.TotalMilliseconds * 2));
        }
    }

    public static Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null, Func<Task<string>>? describe = null) =>
        TrueAsync(() => Task.FromResult(condition()), what, timeout, describe);
}
