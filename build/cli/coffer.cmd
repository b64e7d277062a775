@echo off
rem The `coffer` command of an installed Coffer (docs\DEPLOYMENT.md "The coffer command"): the CLI inside
rem the app archive, run by Coffer.exe acting as Node. Usage: "%ProgramFiles%\Coffer\resources\bin\coffer.cmd" verify C:\Data
setlocal
set ELECTRON_RUN_AS_NODE=1
"%~dp0..\..\Coffer.exe" "%~dp0..\app.asar\bin\coffer.js" %*
exit /b %ERRORLEVEL%
