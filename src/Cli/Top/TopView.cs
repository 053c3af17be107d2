using System.Globalization;
using Spectre.Console;

namespace OrleansLlm.Cli.Top;

/// <summary>What <c>orleansllm top</c> shows: one row per silo, and the queue's totals under the table.</summary>
public static class TopView
{
    /// <summary>The table of one snapshot of the cluster, taken at <paramref name="now"/>.</summary>
    public static Table Render(ClusterView view, DateTimeOffset now)
    {
        var table = new Table()
            .Border(TableBorder.Simple)
            .AddColumn("SILO")
            .AddColumn("MEMBERSHIP")
            .AddColumn("STATE")
            .AddColumn(new TableColumn("LIMIT").RightAligned())
            .AddColumn(new TableColumn("IN FLIGHT").RightAligned())
            .AddColumn(new TableColumn("ITEMS/S").RightAligned())
            .AddColumn(new TableColumn("OLLAMA WAIT P99").RightAligned())
            .AddColumn(new TableColumn("DONE").RightAligned())
            .AddColumn(new TableColumn("LAST SEEN").RightAligned());
        foreach (var w in view.Workers)
        {
            var s = w.Status;
            table.AddRow(
                Markup.Escape(s.Silo),
                Markup.Escape(w.Membership),
                State(s.State),
                Number(s.ConcurrencyLimit),
                Number(s.InFlight),
                w.Throughput.ToString("F1", CultureInfo.InvariantCulture),
                Seconds(s.OllamaWaitP99),
                Number(s.Completed),
                $"{Math.Max(0, (now - w.LastReport).TotalSeconds):F0}s");
        }

        var q = view.Queue;
        table.Caption(
            $"queue [bold]{Markup.Escape(q.QueueName)}[/]: {Number(q.Ready)} ready, {Number(q.InFlight)} in flight, {Number(q.DeadLettered)} dead-lettered; " +
            $"{view.Workers.Count} silos, {Number(view.Workers.Sum(w => w.Status.InFlight))} Ollama calls in flight, " +
            $"{view.Workers.Sum(w => w.Throughput).ToString("F1", CultureInfo.InvariantCulture)} items/s; {now.ToLocalTime():HH:mm:ss}, Ctrl-C to quit");
        return table;
    }

    private static string State(WorkerState state) => state switch
    {
        WorkerState.Active => "[green]active[/]",
        WorkerState.Draining => "[yellow]draining[/]",
        _ => "[grey]drained[/]",
    };

    private static string Number(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) + " s";
}
