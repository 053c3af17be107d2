using System.Diagnostics;
using System.Runtime.InteropServices;

namespace OrleansLlm.Benchmarks;

/// <summary>What the numbers were measured on: they mean little without it.</summary>
public static class MachineInfo
{
    public static IEnumerable<string> Describe()
    {
        yield return $"`nproc`: {Environment.ProcessorCount}";
        yield return $"CPU: {ProcValue("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString()}";
        yield return $"memory: {Memory()}";
        yield return $"OS: {RuntimeInformation.OSDescription}";
        yield return $".NET: {RuntimeInformation.FrameworkDescription}";
        yield return $"Redis: {RedisVersion()}";
    }

    /// <summary>/proc/loadavg's 1, 5 and 15 minute averages: other work on the machine slows every design alike, so the report says how much there was.</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string? ProcValue(string file, string key)
    {
        try
        {
            return File.ReadLines(file)
                .Select(l => l.Split(':', 2))
                .FirstOrDefault(p => p.Length == 2 && p[0].Trim() == key)?[1].Trim();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string Memory()
    {
        // MemTotal is in kB.
        var total = ProcValue("/proc/meminfo", "MemTotal");
        return total is not null && long.TryParse(total.Split(' ')[0], out var kb) ? $"{kb / 1024.0 / 1024.0:0.0} GiB" : "unknown";
    }

    private static string RedisVersion()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("redis-server", "--version") { RedirectStandardOutput = true })!;
            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit(5000);
            return output.Length > 0 ? output : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}
