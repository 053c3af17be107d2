using Microsoft.Extensions.Time.Testing;
using OrleansLlm.Client.Output;

namespace OrleansLlm.Tests.Client;

[Trait("Category", "Unit")]
public sealed class ProgressViewTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly StringWriter _output = new();

    [Fact]
    public void FirstProgress_ShowsNoRate_EvenWithItemsAlreadyDone()
    {
        // Half the batch finished while it was being submitted: that is no rate of thousands per second.
        var view = new ProgressView(_output, interactive: false, _time);

        view.Show(Progress(done: 4678, total: 10_000));

        Assert.Contains("| -/s, elapsed 00:00", Lines()[0]);
    }

    [Fact]
    public void Rate_IsMeasuredFromTheFirstProgress_OverTheLastTenSeconds()
    {
        var view = new ProgressView(_output, interactive: false, _time);
        view.Show(Progress(done: 4678, total: 10_000));
        for (var second = 1; second <= 20; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            // 100 items a second for the first 10 s, then 20 a second.
            view.Show(Progress(done: 4678 + (Math.Min(second, 10) * 100) + (Math.Max(0, second - 10) * 20), total: 10_000));
        }

        var lines = Lines();
        Assert.Equal(5, lines.Length);
        Assert.Contains("| 100.0/s, elapsed 00:05", lines[1]);
        Assert.Contains("| 100.0/s, elapsed 00:10", lines[2]);
        Assert.Contains("| 20.0/s, elapsed 00:20", lines[4]);
    }

    [Fact]
    public void LogMode_KeepsWritingEveryFiveSeconds_WhenTheClusterIsSlowToAnswer()
    {
        var view = new ProgressView(_output, interactive: false, _time);
        view.Show(Progress(done: 10, total: 100));

        for (var i = 0; i < 20; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            view.Tick();
        }

        var lines = Lines();
        Assert.Equal(5, lines.Length);
        Assert.EndsWith("(no answer from the cluster for 20 s)", lines[^1]);
        Assert.DoesNotContain("no answer", lines[0]);
    }

    [Fact]
    public void LogMode_WritesTheCompleteLine_AtOnce()
    {
        var view = new ProgressView(_output, interactive: false, _time);
        view.Show(Progress(done: 10, total: 100));
        _time.Advance(TimeSpan.FromSeconds(1));

        view.Show(Progress(done: 100, total: 100));

        Assert.Contains("100/100", Lines()[^1]);
    }

    private string[] Lines() => _output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static BatchProgress Progress(long done, long total) =>
        new("b-1", Exists: true, total, Queued: total - done, InFlight: 0, done, DeadLettered: 0, Sealed: true);
}
