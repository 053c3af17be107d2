using OllamaSim;

return await CommandLine.RunAsync(args, Console.Out, Console.Error);
