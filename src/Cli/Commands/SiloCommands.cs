using System.CommandLine;

namespace OrleansLlm.Cli.Commands;

/// <summary><c>cluster</c>, <c>drain SILO</c> and <c>undrain SILO</c>: the silos and their workers.</summary>
public static class SiloCommands
{
    public static Command Cluster()
    {
        var command = new Command("cluster", "List the silos: state, in flight, concurrency limit, done, throughput");
        command.SetAction((parse, ct) => Cli.RunAsync(parse, ct, async () =>
        {
            await using var cluster = await Cli.ConnectAsync(parse, ct);
            var view = await cluster.Client.GetCoordinator().GetClusterAsync(ct);
            Console.WriteLine($"{"SILO",-32} {"MEMBERSHIP",-12} {"WORKER",-9} {"IN FLIGHT",9} {"LIMIT",5} {"DONE",8} {"ITEMS/S",8} {"LAST SEEN",9}");
            foreach (var w in view.Workers)
            {
                var age = DateTimeOffset.UtcNow - w.LastReport;
                Console.WriteLine($"{w.Status.Silo,-32} {w.Membership,-12} {w.Status.State.ToString().ToLowerInvariant(),-9} " +
                                  $"{w.LeasesInRedis,9} {w.Status.ConcurrencyLimit,5} {w.Status.Completed,8} {w.Throughput,8:F1} {age.TotalSeconds,8:F0}s");
            }

            var q = view.Queue;
            Console.WriteLine($"queue {q.QueueName}: {q.Ready} ready, {q.InFlight} in flight, {q.DeadLettered} dead-lettered; " +
                              $"coordinator on {view.CoordinatorSilo}, {view.RecoveredLeases} leases recovered");
        }));
        return command;
    }

    public static Command Drain()
    {
        var silo = SiloArgument();
        var command = new Command("drain", "Drain a silo: it stops leasing, finishes or hands back its items, and stops being ready") { silo };
        command.SetAction((parse, ct) => Cli.RunAsync(parse, ct, async () =>
        {
            await using var cluster = await Cli.ConnectAsync(parse, ct);
            var target = await cluster.Client.GetCoordinator().DrainAsync(parse.GetValue(silo)!, ct);
            Console.WriteLine($"draining {target}; follow it with 'orleansllm cluster', bring it back with 'orleansllm undrain {parse.GetValue(silo)}'");
        }));
        return command;
    }

    public static Command Undrain()
    {
        var silo = SiloArgument();
        var command = new Command("undrain", "Return a drained silo to work: it leases again and is ready again") { silo };
        command.SetAction((parse, ct) => Cli.RunAsync(parse, ct, async () =>
        {
            await using var cluster = await Cli.ConnectAsync(parse, ct);
            var result = await cluster.Client.GetCoordinator().UndrainAsync(parse.GetValue(silo)!, ct);
            Console.WriteLine(result.WasDrained
                ? $"{result.Silo} is active again"
                : $"{result.Silo} was not drained; nothing to do");
        }));
        return command;
    }

    private static Argument<string> SiloArgument() =>
        new("SILO") { Description = "the silo's address, or any unique part of it, as 'cluster' lists it" };
}
