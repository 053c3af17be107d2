using System.Globalization;

namespace OllamaSim;

/// <summary>The result of parsing the command line: simulator settings plus the arguments left for ASP.NET Core.</summary>
public sealed record ParsedCommandLine(SimulatorOptions Options, string[] HostArgs, bool ShowHelp);

/// <summary>
/// A small hand-written parser. The configuration command-line provider can't express a repeatable
/// <c>--model</c> and gives no error for typos in values, so the simulator's own flags are parsed here
/// and everything else (e.g. <c>--urls</c>) is passed through to the web host.
/// </summary>
public static class CommandLine
{
    public const string Usage = """
        Usage: OllamaSim [options] [--urls http://127.0.0.1:11434]

          --parallel N               request slots, like OLLAMA_NUM_PARALLEL (default 1)
          --time-scale F             1 = real CPU speed, 0.01 = 100x faster, 0 = no delay (default 1)
          --speed F                  hardware speed multiplier, 2 = twice as fast (default 1)
          --scaling-exponent E       aggregate throughput = busy^E; 1 = perfectly parallel (default 0.32)
          --model NAME               pre-pulled model, repeatable (default qwen2:1.5b)
          --seed N                   seed for fault injection (default random)
          --error-rate P             probability of HTTP 500 {"error":"simulated failure"}
          --unavailable-rate P       probability of HTTP 503 {"error":"server busy"}
          --hang-rate P              probability a request holds a slot until the client gives up
          --midstream-error-rate P   probability a response breaks half way
          --no-done-rate P           probability the final object lacks "done":true
          --load-delay D             model load time on first use, e.g. 2s, 500ms, 1.5 (seconds)
          --fail-prompt-contains S   fail every request whose prompt contains S
          --help                     show this text
        """;

    /// <summary>Parses <paramref name="args"/>; throws <see cref="ArgumentException"/> with a readable message on bad input.</summary>
    public static ParsedCommandLine Parse(IReadOnlyList<string> args)
    {
        var options = new SimulatorOptions();
        var faults = new FaultOptions();
        var hostArgs = new List<string>();
        var showHelp = false;

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h" or "-?")
            {
                showHelp = true;
                continue;
            }

            // Accept both "--flag value" and "--flag=value".
            string name = arg;
            string? inlineValue = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                name = arg[..eq];
                inlineValue = arg[(eq + 1)..];
            }

            string Value()
            {
                if (inlineValue is not null)
                {
                    return inlineValue;
                }

                if (i + 1 >= args.Count)
                {
                    throw new ArgumentException($"{name} needs a value");
                }

                return args[++i];
            }

            switch (name.ToLowerInvariant())
            {
                case "--parallel": options.Parallel = ParseInt(name, Value()); break;
                case "--time-scale": options.TimeScale = ParseDouble(name, Value()); break;
                case "--speed": options.Speed = ParseDouble(name, Value()); break;
                case "--scaling-exponent": options.ScalingExponent = ParseDouble(name, Value()); break;
                case "--model": options.Models.Add(Value()); break;
                case "--seed": options.Seed = ParseInt(name, Value()); break;
                case "--error-rate": faults = faults with { ErrorRate = ParseDouble(name, Value()) }; break;
                case "--unavailable-rate": faults = faults with { UnavailableRate = ParseDouble(name, Value()) }; break;
                case "--hang-rate": faults = faults with { HangRate = ParseDouble(name, Value()) }; break;
                case "--midstream-error-rate": faults = faults with { MidStreamErrorRate = ParseDouble(name, Value()) }; break;
                case "--no-done-rate": faults = faults with { NoDoneRate = ParseDouble(name, Value()) }; break;
                case "--load-delay": faults = faults with { LoadDelay = Durations.Parse(Value(), name) }; break;
                case "--fail-prompt-contains": faults = faults with { FailPromptContains = Value() }; break;
                default:
                    hostArgs.Add(arg);
                    break;
            }
        }

        options.Faults = faults;
        if (!showHelp)
        {
            options.Validate();
        }

        return new ParsedCommandLine(options, hostArgs.ToArray(), showHelp);
    }

    private static int ParseInt(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var result)
            ? result
            : throw new ArgumentException($"{name}: '{value}' is not a whole number");

    private static double ParseDouble(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var result) && double.IsFinite(result)
            ? result
            : throw new ArgumentException($"{name}: '{value}' is not a number");
}

/// <summary>Parses durations written like Ollama's keep_alive: "500ms", "2s", "1.5m", "1h" or plain seconds.</summary>
public static class Durations
{
    public static TimeSpan Parse(string text, string what = "duration")
    {
        var s = text.Trim().ToLowerInvariant();
        var (number, unitSeconds) =
            s.EndsWith("ms", StringComparison.Ordinal) ? (s[..^2], 0.001) :
            s.EndsWith('s') ? (s[..^1], 1.0) :
            s.EndsWith('m') ? (s[..^1], 60.0) :
            s.EndsWith('h') ? (s[..^1], 3600.0) :
            (s, 1.0);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            throw new ArgumentException($"{what}: '{text}' is not a duration (try 2s, 500ms or 1.5)");
        }

        if (value < 0)
        {
            throw new ArgumentException($"{what} must not be negative (got '{text}')");
        }

        return TimeSpan.FromSeconds(value * unitSeconds);
    }
}
