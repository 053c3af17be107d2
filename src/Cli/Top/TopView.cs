using System.Globalization;
using Spectre.Console;

namespace OrleansLlm.Cli.Top;

/// <summary>What <c>orleansllm top</c> shows: one row per silo, and the queue's totals under the table.</summary>
public static class TopView
{
    /// <summary>The table of one snapshot of the cluster, taken at <paramref name="now"/>; <paramref name="live"/> while it refreshes.</summary>
    /// <remarks>In flight: the worker's Ollama calls. Wait p99: how long its latest answers waited inside Ollama for a slot.</remarks>
    public static Table Render(ClusterView view, DateTimeOffset now, bool live)
    {
        // Narrow enough for an 80-column terminal: a silo's address never wraps.
        var table = new Table()
            .Border(TableBorder.Simple)
            .AddColumn(new TableColumn("SILO").NoWrap())
            .AddColumn(new TableColumn("STATE").NoWrap())
            .AddColumn(new TableColumn("LIMIT").RightAligned())
            .AddColumn(new TableColumn("IN FLIGHT").RightAligned())
            .AddColumn(new TableColumn("ITEMS/S").RightAligned())
            .AddColumn(new TableColumn("WAIT P99").RightAligned().NoWrap());
        foreach (var w in view.Workers)
        {
            var s = w.Status;
            table.AddRow(
                Markup.Escape(s.Silo),
                State(s.State, w.Membership),
                Number(s.ConcurrencyLimit),
                Number(s.InFlight),
                w.Throughput.ToString("F1", CultureInfo.InvariantCulture),
                Seconds(s.OllamaWaitP99));
        }

        var q = view.Queue;
        table.Caption(
            $"queue [bold]{Markup.Escape(q.QueueName)}[/]: {Number(q.Ready)} ready, {Number(q.InFlight)} in flight, {Number(q.DeadLettered)} dead-lettered; " +
            $"{view.Workers.Count} silos, {Number(view.Workers.Sum(w => w.Status.InFlight))} Ollama calls in flight, " +
            $"{view.Workers.Sum(w => w.Throughput).ToString("F1", CultureInfo.InvariantCulture)} items/s; {now.ToLocalTime():HH:mm:ss}" + (live ? ", Ctrl-C to quit" : string.Empty));
        return table;
    }

    // The worker's own state; its silo's membership too when the silo is not an active member (dead, shutting down).
    private static string State(WorkerState state, string membership)
    {
        var worker = state switch
        {
            WorkerState.Active => "[green]active[/]",
            WorkerState.Draining => "[yellow]draining[/]",
            _ => "[grey]drained[/]",
        };
        return membership == "Active" ? worker : $"{worker} [red]{Markup.Escape(membership.ToLowerInvariant())}[/]";
    }

    private static string Number(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) + " s";
}
