using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;

namespace OllamaSim;

/// <summary>
/// The simulator's flags, on System.CommandLine. Arguments it does not know (e.g. <c>--urls</c>) are passed
/// through to the web host, so ASP.NET Core's own configuration keeps working.
/// </summary>
public static class CommandLine
{
    private const string Description =
        "An Ollama-compatible (or, with --api openai, vLLM-compatible) HTTP server that simulates a model's capacity instead of running one. " +
        "Arguments it does not know, such as --urls http://127.0.0.1:11434, go to ASP.NET Core.";

    private static readonly Lazy<string> UsageText = new(RenderUsage);

    /// <summary>The help text, generated from the flags' definitions.</summary>
    public static string Usage => UsageText.Value;

    /// <summary>Parses <paramref name="args"/>; throws <see cref="ArgumentException"/> with a one-line message on bad input.</summary>
    public static ParsedCommandLine Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var flags = new Flags();
        var result = flags.Command.Parse(flags.NormalizeNames(args));
        if (result.Action is HelpAction)
        {
            return new ParsedCommandLine(new SimulatorOptions(), [], ShowHelp: true);
        }

        if (result.Errors.Count > 0)
        {
            throw new ArgumentException(Describe(result.Errors[0]));
        }

        var options = flags.ToOptions(result);
        options.Validate();
        return new ParsedCommandLine(options, result.UnmatchedTokens.ToArray(), ShowHelp: false);
    }

    /// <summary>
    /// Runs the command line: help gives exit code 0, bad input a one-line error and the usage on
    /// <paramref name="error"/> with exit code 2; otherwise the simulator runs until stopped.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        ParsedCommandLine parsed;
        try
        {
            parsed = Parse(args);
        }
        catch (ArgumentException ex)
        {
            await error.WriteLineAsync($"OllamaSim: {ex.Message}\n\n{Usage}");
            return 2;
        }

        if (parsed.ShowHelp)
        {
            await output.WriteLineAsync(Usage);
            return 0;
        }

        await SimulatorServer.RunAsync(parsed.Options, parsed.HostArgs, cancellationToken);
        return 0;
    }

    private static string Describe(ParseError error) =>
        // System.CommandLine words a missing value as "Required argument missing for option"; say which flag.
        error.SymbolResult is OptionResult { Tokens.Count: 0 } option
            ? $"{option.Option.Name} needs a value"
            : error.Message;

    private static string RenderUsage()
    {
        var flags = new Flags();
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        flags.Command.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = writer });
        return writer.ToString().TrimEnd();
    }

    /// <summary>One set of option definitions; built per parse because System.CommandLine symbols remember their parents.</summary>
    private sealed class Flags
    {
        public Option<int?> Parallel { get; } = Int("--parallel", "N", "request slots, like OLLAMA_NUM_PARALLEL; more requests wait in a FIFO queue (default 1)");
        public Option<double?> TimeScale { get; } = Number("--time-scale", "F", "1 = real CPU speed, 0.01 = 100x faster, 0 = no delay (default 1)");
        public Option<double?> Speed { get; } = Number("--speed", "F", "hardware speed multiplier, 2 = twice as fast (default 1)");
        public Option<double?> ScalingExponent { get; } = Number("--scaling-exponent", "E", "aggregate throughput with k busy slots = k^E; 1 = perfectly parallel (default 0.32)");
        public Option<int?> CliffAt { get; } = Int("--cliff-at", "K", "past K computing slots aggregate throughput falls instead of growing (default: no cliff)");
        public Option<double?> CliffSlope { get; } = Number("--cliff-slope", "S", "share of aggregate(K) lost per slot past K (default 0: flat)");
        public Option<double?> CliffFloor { get; } = Number("--cliff-floor", "F", "least share of aggregate(K) left past the cliff (default 0.1)");
        public Option<List<string>> Model { get; } = new("--model")
        {
            HelpName = "NAME",
            Description = "pre-pulled model, repeatable (default qwen2:1.5b)",
            AllowMultipleArgumentsPerToken = false,
        };

        public Option<SimulatorApi?> Api { get; } = Choice<SimulatorApi>("--api", "ollama|openai", "the API served: Ollama's /api, or the OpenAI-compatible /v1 of vLLM (default ollama)",
            ("ollama", SimulatorApi.Ollama), ("openai", SimulatorApi.OpenAI));

        public Option<ServerFlavor?> Flavor { get; } = Choice<ServerFlavor>("--flavor", "vllm|sglang|llamacpp|plain", "with --api openai: whose /metrics and timings it shows; plain shows none (default vllm)",
            ("vllm", ServerFlavor.Vllm), ("sglang", ServerFlavor.Sglang), ("llamacpp", ServerFlavor.LlamaCpp), ("plain", ServerFlavor.Plain));

        public Option<int?> KvSeqs { get; } = Int("--kv-seqs", "N", "with --api openai: sequences that fit in the KV cache and compute together; more wait (default: max-num-seqs)");
        public Option<int?> MaxNumSeqs { get; } = Int("--max-num-seqs", "N", "with --api openai: vLLM's cap on running sequences (default 256)");
        public Option<string?> ApiKey { get; } = new("--api-key")
        {
            HelpName = "KEY",
            Description = "with --api openai: /v1 requests need Authorization: Bearer KEY, as vLLM's --api-key",
        };

        public Option<int?> Seed { get; } = Int("--seed", "N", "seed for fault injection (default random)");
        public Option<int?> RequestLogSize { get; } = Int("--request-log-size", "N", "recent requests kept for GET /sim/requests (default 1000)");
        public Option<double?> ErrorRate { get; } = Number("--error-rate", "P", "probability of HTTP 500 {\"error\":\"simulated failure\"}");
        public Option<double?> UnavailableRate { get; } = Number("--unavailable-rate", "P", "probability of HTTP 503 {\"error\":\"server busy\"}");
        public Option<double?> HangRate { get; } = Number("--hang-rate", "P", "probability a request holds a slot until the client gives up");
        public Option<double?> MidStreamErrorRate { get; } = Number("--midstream-error-rate", "P", "probability a response breaks half way");
        public Option<double?> NoDoneRate { get; } = Number("--no-done-rate", "P", "probability the final object lacks \"done\":true");
        public Option<double?> SchemaViolationRate { get; } = Number("--schema-violation-rate", "P", "probability a format-constrained answer breaks its JSON schema");
        public Option<TimeSpan?> LoadDelay { get; } = new("--load-delay")
        {
            HelpName = "D",
            Description = "model load time on first use, e.g. 2s, 500ms, 1.5 (seconds)",
            CustomParser = r => Single<TimeSpan?>(r, text => Durations.Parse(text, "--load-delay")),
        };

        public Option<string?> FailPromptContains { get; } = new("--fail-prompt-contains")
        {
            HelpName = "S",
            Description = "fail every request whose prompt contains S",
        };

        public Command Command { get; }

        public Flags()
        {
            // A plain Command rather than RootCommand: a stable name in the usage (not "testhost"), and no --version.
            Command = new Command("OllamaSim", Description)
            {
                Parallel, TimeScale, Speed, ScalingExponent, CliffAt, CliffSlope, CliffFloor, Model, Api, Flavor, KvSeqs, MaxNumSeqs, ApiKey, Seed, RequestLogSize,
                ErrorRate, UnavailableRate, HangRate, MidStreamErrorRate, NoDoneRate, SchemaViolationRate, LoadDelay, FailPromptContains,
                new HelpOption(),
            };
            Command.TreatUnmatchedTokensAsErrors = false;
        }

        /// <summary>Lower-cases the simulator's own flags, which were always case-insensitive; host arguments keep their case.</summary>
        public string[] NormalizeNames(IReadOnlyList<string> args)
        {
            var known = Command.Options.Select(o => o.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
            return args.Select(arg =>
            {
                if (!arg.StartsWith("--", StringComparison.Ordinal))
                {
                    return arg;
                }

                var end = arg.IndexOfAny(['=', ':']);
                var name = end < 0 ? arg : arg[..end];
                return known.Contains(name) ? name.ToLowerInvariant() + arg[name.Length..] : arg;
            }).ToArray();
        }

        public SimulatorOptions ToOptions(ParseResult r)
        {
            var defaults = new SimulatorOptions();
            var f = new FaultOptions();
            var options = new SimulatorOptions
            {
                Api = r.GetValue(Api) ?? defaults.Api,
                Flavor = r.GetValue(Flavor) ?? defaults.Flavor,
                KvSeqs = r.GetValue(KvSeqs),
                MaxNumSeqs = r.GetValue(MaxNumSeqs) ?? defaults.MaxNumSeqs,
                ApiKey = r.GetValue(ApiKey),
                Parallel = r.GetValue(Parallel) ?? defaults.Parallel,
                TimeScale = r.GetValue(TimeScale) ?? defaults.TimeScale,
                Speed = r.GetValue(Speed) ?? defaults.Speed,
                CliffAt = r.GetValue(CliffAt),
                CliffSlope = r.GetValue(CliffSlope) ?? defaults.CliffSlope,
                CliffFloor = r.GetValue(CliffFloor) ?? defaults.CliffFloor,
                Models = r.GetValue(Model) ?? [],
                Seed = r.GetValue(Seed),
                RequestLogCapacity = r.GetValue(RequestLogSize) ?? defaults.RequestLogCapacity,
                Faults = new FaultOptions
                {
                    ErrorRate = r.GetValue(ErrorRate) ?? f.ErrorRate,
                    UnavailableRate = r.GetValue(UnavailableRate) ?? f.UnavailableRate,
                    HangRate = r.GetValue(HangRate) ?? f.HangRate,
                    MidStreamErrorRate = r.GetValue(MidStreamErrorRate) ?? f.MidStreamErrorRate,
                    NoDoneRate = r.GetValue(NoDoneRate) ?? f.NoDoneRate,
                    SchemaViolationRate = r.GetValue(SchemaViolationRate) ?? f.SchemaViolationRate,
                    LoadDelay = r.GetValue(LoadDelay) ?? f.LoadDelay,
                    FailPromptContains = r.GetValue(FailPromptContains),
                },
            };
            // Unset, the exponent follows the API's default (a CPU's for Ollama, a GPU's for OpenAI).
            if (r.GetValue(ScalingExponent) is { } exponent)
            {
                options.ScalingExponent = exponent;
            }

            return options;
        }

        private static Option<int?> Int(string name, string helpName, string description) => new(name)
        {
            HelpName = helpName,
            Description = description,
            CustomParser = r => Single<int?>(r, text =>
                int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                    ? value
                    : throw new ArgumentException($"{name}: '{text}' is not a whole number")),
        };

        private static Option<T?> Choice<T>(string name, string helpName, string description, params (string Word, T Value)[] choices)
            where T : struct => new(name)
        {
            HelpName = helpName,
            Description = description,
            CustomParser = r => Single<T?>(r, text =>
                choices.FirstOrDefault(c => c.Word.Equals(text, StringComparison.OrdinalIgnoreCase)) is { Word: not null } hit
                    ? hit.Value
                    : throw new ArgumentException($"{name}: '{text}' is not one of {string.Join(", ", choices.Select(c => c.Word))}")),
        };

        private static Option<double?> Number(string name, string helpName, string description) => new(name)
        {
            HelpName = helpName,
            Description = description,
            CustomParser = r => Single<double?>(r, text =>
                double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
                    ? value
                    : throw new ArgumentException($"{name}: '{text}' is not a number")),
        };

        /// <summary>Converts the option's one token, turning a conversion's ArgumentException into a parse error.</summary>
        private static T? Single<T>(ArgumentResult result, Func<string, T> convert)
        {
            if (result.Tokens.Count == 0)
            {
                return default;
            }

            try
            {
                return convert(result.Tokens[^1].Value);
            }
            catch (ArgumentException ex)
            {
                result.AddError(ex.Message);
                return default;
            }
        }
    }
}
