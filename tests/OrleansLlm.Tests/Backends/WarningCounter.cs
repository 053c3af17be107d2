using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OrleansLlm.Tests.Backends;

/// <summary>Keeps the warnings (and worse) logged under each category.</summary>
internal sealed class WarningCounter : ILoggerProvider
{
    private readonly ConcurrentQueue<(string Category, string Message)> _warnings = new();

    public IReadOnlyList<string> Of(string category) => _warnings.Where(w => w.Category == category).Select(w => w.Message).ToList();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _warnings);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<(string, string)> warnings) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                warnings.Enqueue((category, formatter(state, exception)));
            }
        }
    }
}
