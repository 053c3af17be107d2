using System.Globalization;

namespace OrleansLlm.Benchmarks.Infrastructure;

/// <summary>
/// CPU time the kernel counted for a process, from <c>/proc/PID/stat</c>: a silo process's own, and that of the
/// children this process has waited for (a CLI process that has exited, whose own entry is gone by then).
/// </summary>
public static class CpuTime
{
    // /proc reports times in USER_HZ, which the kernel's ABI fixes at 100 on every Linux architecture.
    private const double TicksPerSecond = 100;

    /// <summary>utime + stime of process <paramref name="pid"/>, in seconds.</summary>
    public static double OfProcess(int pid) => Sum(Fields(pid.ToString(CultureInfo.InvariantCulture)), 14, 15);

    /// <summary>cutime + cstime of this process: every child it started and has waited for, in seconds.</summary>
    public static double OfExitedChildren() => Sum(Fields("self"), 16, 17);

    /// <summary>This process's own utime + stime (the harness and the in-process simulators), in seconds.</summary>
    public static double OfThisProcess() => Sum(Fields("self"), 14, 15);

    /// <summary>
    /// The context switches of process <paramref name="pid"/>'s live threads (voluntary and not, from each
    /// <c>/proc/PID/task/TID/status</c>): each is mostly a thread that blocked and was woken again, what a hand-off to
    /// another thread costs. Threads that have exited are not counted.
    /// </summary>
    public static long ContextSwitches(int pid)
    {
        long sum = 0;
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        sum += long.Parse(line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
                // The thread exited meanwhile.
            }
        }

        return sum;
    }

    // Field n (1-based, as proc(5) numbers them); the second, the command name, may hold spaces, so count past its ')'.
    private static string[] Fields(string pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return ["", .. stat[..(stat.IndexOf('(', StringComparison.Ordinal) - 1)].Split(' '), "comm", .. stat[(stat.LastIndexOf(')') + 2)..].Split(' ')];
    }

    private static double Sum(string[] fields, int user, int system) =>
        (long.Parse(fields[user], CultureInfo.InvariantCulture) + long.Parse(fields[system], CultureInfo.InvariantCulture)) / TicksPerSecond;
}
